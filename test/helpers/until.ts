/**
 * Polls `done` every `everyMs` until it holds; throws naming `what` after `ms`, with what
 * `explain` tells (a service's log tail, say) so that a timeout in CI shows its cause.
 */
export async function until(
  done: () => Promise<boolean> | boolean,
  ms: number,
  what: string,
  everyMs = 50,
  explain?: () => string | Promise<string>,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) {
      const more = explain === undefined ? "" : `\n${await explain()}`;
      throw new Error(`timed out waiting for ${what}${more}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The last `chars` characters of a log, for a failure message. */
export function tail(text: string, chars = 4000): string {
  return text.length <= chars ? text : `…${text.slice(-chars)}`;
}
