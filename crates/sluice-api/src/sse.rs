//! Incremental `text/event-stream` scanning.
//!
//! The gateway relays upstream SSE bytes to the client as they arrive and must not alter
//! them; it only needs to *look* at each event's data (to find usage, `[DONE]`, errors).
//! [`SseScanner`] is fed the same chunks that are relayed and calls back once per complete
//! event, however the bytes were split across chunks.

/// Largest event payload kept; a longer one is dropped (and counted) rather than letting a
/// broken upstream grow memory without bound.
pub const MAX_EVENT_BYTES: usize = 8 * 1024 * 1024;

#[derive(Debug, Default)]
pub struct SseScanner {
    line: Vec<u8>,
    data: Vec<u8>,
    has_data: bool,
    /// The previous chunk ended in `\r`, so a leading `\n` belongs to that line break.
    after_cr: bool,
    /// The current line grew past [`MAX_EVENT_BYTES`]; ignore it until its end.
    discarding: bool,
    oversized: u64,
}

impl SseScanner {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next chunk; `on_event` gets each complete event's data (multi-line data
    /// joined with `\n`, as the SSE spec says).
    pub fn push(&mut self, mut chunk: &[u8], mut on_event: impl FnMut(&[u8])) {
        if self.after_cr && chunk.first() == Some(&b'\n') {
            chunk = &chunk[1..];
        }
        self.after_cr = false;
        while let Some(i) = chunk.iter().position(|&b| b == b'\n' || b == b'\r') {
            let (head, rest) = chunk.split_at(i);
            self.extend_line(head);
            let is_cr = rest[0] == b'\r';
            chunk = &rest[1..];
            if is_cr {
                if chunk.first() == Some(&b'\n') {
                    chunk = &chunk[1..];
                } else if chunk.is_empty() {
                    self.after_cr = true;
                }
            }
            self.end_line(&mut on_event);
        }
        self.extend_line(chunk);
    }

    /// Events dropped because they were larger than [`MAX_EVENT_BYTES`].
    pub fn oversized_events(&self) -> u64 {
        self.oversized
    }

    fn extend_line(&mut self, bytes: &[u8]) {
        if self.discarding {
            return;
        }
        if self.line.len() + bytes.len() > MAX_EVENT_BYTES {
            self.discarding = true;
            self.line.clear();
            return;
        }
        self.line.extend_from_slice(bytes);
    }

    fn end_line(&mut self, on_event: &mut impl FnMut(&[u8])) {
        if self.discarding {
            self.discarding = false;
            self.oversized += 1;
            self.data.clear();
            self.has_data = false;
            return;
        }
        if self.line.is_empty() {
            if self.has_data {
                on_event(&self.data);
            }
            self.data.clear();
            self.has_data = false;
            return;
        }
        let line = std::mem::take(&mut self.line);
        if let Some(value) = field_value(&line, b"data") {
            if self.data.len() + value.len() > MAX_EVENT_BYTES {
                self.oversized += 1;
                self.data.clear();
                self.has_data = false;
            } else {
                if self.has_data {
                    self.data.push(b'\n');
                }
                self.data.extend_from_slice(value);
                self.has_data = true;
            }
        }
        self.line = line;
        self.line.clear();
    }
}

/// `name: value` / `name:value` → value; comments (`:...`) and other fields → None.
fn field_value<'a>(line: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let rest = line.strip_prefix(name)?;
    if rest.is_empty() {
        return Some(rest);
    }
    let rest = rest.strip_prefix(b":")?;
    Some(rest.strip_prefix(b" ").unwrap_or(rest))
}

/// Frames one event: `data: <json>\n\n`.
pub fn frame_data(payload: &[u8]) -> bytes::Bytes {
    let mut out = Vec::with_capacity(payload.len() + 8);
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(payload);
    out.extend_from_slice(b"\n\n");
    out.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(chunks: &[&[u8]]) -> Vec<String> {
        let mut s = SseScanner::new();
        let mut out = Vec::new();
        for c in chunks {
            s.push(c, |d| out.push(String::from_utf8_lossy(d).into_owned()));
        }
        out
    }

    #[test]
    fn events_split_anywhere() {
        let stream = b"data: {\"a\":1}\n\ndata: {\"b\":2}\n\n: keepalive\n\ndata: [DONE]\n\n";
        let want = vec!["{\"a\":1}", "{\"b\":2}", "[DONE]"];
        assert_eq!(scan(&[stream]), want);
        for i in 0..stream.len() {
            let (a, b) = stream.split_at(i);
            assert_eq!(scan(&[a, b]), want, "split at {i}");
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(scan(&bytes), want);
    }

    #[test]
    fn crlf_and_cr_line_endings() {
        assert_eq!(
            scan(&[b"data: x\r\n\r\ndata: y\r\rdata:z\n\n"]),
            vec!["x", "y", "z"]
        );
        assert_eq!(scan(&[b"data: x\r", b"\n", b"\r", b"\n"]), vec!["x"]);
    }

    #[test]
    fn multi_line_data_joined() {
        assert_eq!(
            scan(&[b"event: m\ndata: a\ndata: b\nid: 3\n\n"]),
            vec!["a\nb"]
        );
    }

    #[test]
    fn unterminated_event_not_emitted() {
        assert_eq!(scan(&[b"data: a\n\ndata: partial"]), vec!["a"]);
    }

    #[test]
    fn oversized_line_dropped() {
        let mut s = SseScanner::new();
        let big = vec![b'x'; MAX_EVENT_BYTES + 10];
        let mut n = 0;
        s.push(b"data: ", |_| n += 1);
        s.push(&big, |_| n += 1);
        s.push(b"\n\ndata: ok\n\n", |d| {
            assert_eq!(d, b"ok");
            n += 1
        });
        assert_eq!(n, 1);
        assert_eq!(s.oversized_events(), 1);
    }
}
