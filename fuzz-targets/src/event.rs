//! An event as JSON (what `events` readers and the spool decode), and a
//! spool line as the store's owner ingests it. Oracle: an event that
//! decodes encodes and decodes again.

use llmagent_events::Event;
use llmagent_events::fuzzing::spool_line;

/// Runs the target on one input.
pub fn run(data: &[u8]) {
    if let Ok(event) = serde_json::from_slice::<Event>(data) {
        let encoded = serde_json::to_vec(&event).expect("an event encodes");
        serde_json::from_slice::<Event>(&encoded).expect("an encoded event decodes");
    }
    let _ = spool_line(data);
}
