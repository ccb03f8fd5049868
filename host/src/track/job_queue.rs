//! Track `job-queue` (issue 5, in progress): a background job processor
//! under producers and a pool of workers that are slow, die holding leases,
//! fail, and complete twice or too late.

pub mod model;
