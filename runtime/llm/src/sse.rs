//! A server-sent-events parser (the WHATWG `text/event-stream` format) for
//! streamed completions: bytes in, in chunks split anywhere; the `data` of
//! each complete event out.
//!
//! Lines end in `\n`, `\r\n` or `\r`; a blank line ends an event; `data:`
//! lines of one event are joined with `\n`; comments (`:`) and other fields
//! (`event:`, `id:`, `retry:`) are skipped. Lines are cut from bytes before
//! decoding, so a UTF-8 character split between chunks decodes whole;
//! invalid UTF-8 becomes U+FFFD.

/// Parser state between chunks.
#[derive(Debug, Default)]
pub(crate) struct SseParser {
    /// Bytes not yet cut into lines.
    pending: Vec<u8>,
    /// How far `pending` has been searched for a line end.
    searched: usize,
    /// The `data` of the event being read.
    data: String,
    /// Whether the event being read has a `data` line (it may be empty).
    has_data: bool,
}

impl SseParser {
    /// Feeds the next bytes; returns the `data` of every event they end.
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> Vec<String> {
        self.pending.extend_from_slice(bytes);
        let mut events = Vec::new();
        let mut start = 0;
        let searched_to = loop {
            let from = start.max(self.searched);
            let Some(offset) = self.pending[from..]
                .iter()
                .position(|b| *b == b'\n' || *b == b'\r')
            else {
                break self.pending.len();
            };
            let end = from + offset;
            let next = match self.pending[end] {
                // `\r` last: maybe half of a `\r\n`; wait for the next byte.
                b'\r' if end + 1 == self.pending.len() => break end,
                b'\r' if self.pending[end + 1] == b'\n' => end + 2,
                _ => end + 1,
            };
            let line = String::from_utf8_lossy(&self.pending[start..end]).into_owned();
            self.line(&line, &mut events);
            start = next;
        };
        self.pending.drain(..start);
        self.searched = searched_to - start;
        events
    }

    /// The stream ended: the event still open, if it has data. (The format
    /// says to drop it; servers that close without the final blank line
    /// are common enough to accept it. An unterminated last line is
    /// dropped: it may be cut mid-way.)
    pub(crate) fn finish(&mut self) -> Option<String> {
        // A lone `\r` held back as possibly half of `\r\n` ends a line.
        if self.pending.last() == Some(&b'\r') {
            let mut events = Vec::new();
            let line =
                String::from_utf8_lossy(&self.pending[..self.pending.len() - 1]).into_owned();
            self.line(&line, &mut events);
            if let Some(event) = events.pop() {
                return Some(event);
            }
        }
        self.pending.clear();
        self.searched = 0;
        self.has_data.then(|| {
            self.has_data = false;
            std::mem::take(&mut self.data)
        })
    }

    /// One complete line.
    fn line(&mut self, line: &str, events: &mut Vec<String>) {
        if line.is_empty() {
            if self.has_data {
                self.has_data = false;
                events.push(std::mem::take(&mut self.data));
            }
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        if field == "data" {
            if self.has_data {
                self.data.push('\n');
            }
            self.data.push_str(value.strip_prefix(' ').unwrap_or(value));
            self.has_data = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `bytes` cut at every position in `cuts`, then finishes.
    fn parse_in_pieces(bytes: &[u8], cuts: &[usize]) -> Vec<String> {
        let mut parser = SseParser::default();
        let mut events = Vec::new();
        let mut from = 0;
        for &cut in cuts.iter().chain([bytes.len()].iter()) {
            events.extend(parser.feed(&bytes[from..cut]));
            from = cut;
        }
        events.extend(parser.finish());
        events
    }

    const STREAM: &str = ": keep-alive\n\
        data: {\"a\":1}\n\n\
        event: message\r\n\
        id: 7\r\n\
        data:{\"b\":\"é€\"}\r\n\r\n\
        data: line one\r\
        data: line two\r\
        \r\
        retry: 10\n\
        \n\
        data\n\n\
        data: [DONE]\n\n";

    fn expected() -> Vec<String> {
        vec![
            "{\"a\":1}".to_owned(),
            "{\"b\":\"é€\"}".to_owned(),
            "line one\nline two".to_owned(),
            String::new(),
            "[DONE]".to_owned(),
        ]
    }

    #[test]
    fn a_whole_stream_parses() {
        assert_eq!(parse_in_pieces(STREAM.as_bytes(), &[]), expected());
    }

    #[test]
    fn every_two_way_split_parses_the_same() {
        // Includes cuts inside `\r\n` and inside the two- and three-byte
        // UTF-8 characters `é` and `€`.
        let bytes = STREAM.as_bytes();
        for cut in 0..=bytes.len() {
            assert_eq!(parse_in_pieces(bytes, &[cut]), expected(), "cut at {cut}");
        }
    }

    #[test]
    fn byte_by_byte_parses_the_same() {
        let bytes = STREAM.as_bytes();
        let cuts: Vec<usize> = (1..bytes.len()).collect();
        assert_eq!(parse_in_pieces(bytes, &cuts), expected());
    }

    #[test]
    fn invalid_utf8_becomes_replacement_characters() {
        assert_eq!(
            parse_in_pieces(b"data: a\xffb\xc3\n\n", &[9]),
            vec!["a\u{FFFD}b\u{FFFD}".to_owned()]
        );
    }

    #[test]
    fn the_end_of_the_stream_closes_an_open_event_but_not_a_cut_line() {
        assert_eq!(
            parse_in_pieces(b"data: whole\ndata: cut mid-li", &[]),
            vec!["whole".to_owned()]
        );
        assert_eq!(
            parse_in_pieces(b"data: last\r", &[]),
            vec!["last".to_owned()]
        );
        assert_eq!(
            parse_in_pieces(b": only a comment\n", &[]),
            Vec::<String>::new()
        );
    }
}
