"""Plumbing every capability shares, with no knowledge of any of them.

`errors` holds the errors a person can act on (each says what happened and what to do);
`units` writes sizes, counts and durations the way people read them; `atomic_files` writes a
file so that a crash or a full disk leaves the old one or the new one; `child_process` builds
the command line that runs one of our modules in a child process (from source or frozen);
`logs` sets up the rotating log files that never hold what people wrote; `clock` gives the one
UTC "now" that every record is stamped with; `cancellation` is the flag a long task checks;
`file_lock` is the lock several processes take on one file (migrations, the running app);
`enums` gives `StrEnum` (on Python 3.10 too) for states stored as their string; `shredding`
overwrites a file's contents before removing it.
"""
