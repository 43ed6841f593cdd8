import { readFileSync } from "node:fs";

/** The package version, read once from package.json next to the compiled code. */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }
).version;

/** The package's root folder (holds configs/ and sample/), wherever itb is installed. */
export const PACKAGE_ROOT: string = new URL("../../", import.meta.url).pathname;
