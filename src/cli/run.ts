import { main } from "./main.js";

const status = await main(process.argv);
// An interrupted command exits now, whatever its abandoned work still holds open (a download
// in flight, a timer); everything it keeps is written, and its locks go with the exit hook.
if (status === 130 || status === 143) process.exit(status);
process.exitCode = status;
