//! The job-queue track's operations and answers, as the host models them.
