/** Polls `done` every `everyMs` until it holds; throws naming `what` after `ms`. */
export async function until(
  done: () => Promise<boolean> | boolean,
  ms: number,
  what: string,
  everyMs = 50,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
