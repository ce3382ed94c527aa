//! Treatment assignment on the agent read path (see `docs/experiments.md`).
//! To be written: a run compiled once (`Assigner`), evaluated per request.
