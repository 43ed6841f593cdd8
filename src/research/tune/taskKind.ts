/** The task kind of a tuning trial on the `tasks` queue (`itb tune --queue`, run by `itb worker`). */
export const TUNE_TRIAL_KIND = "tune-trial";
