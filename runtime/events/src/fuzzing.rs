//! The spool line reader, which reads what another process wrote, for the
//! fuzz targets in `fuzz/` (feature `fuzzing`). Not part of the API.

use crate::event::NewEvent;
use crate::spool::parse_line;

/// One spool line read as the owner ingests it: the event and its
/// timestamp in microseconds, or why the line was refused.
pub fn spool_line(line: &[u8]) -> Result<(NewEvent, Option<i64>), String> {
    parse_line(line)
        .map(|p| (p.event, p.ts.map(|(micros, _)| micros)))
        .map_err(|e| e.to_string())
}
