//! MySQL packet framing: a 3-byte length, a sequence number, the payload; payloads
//! of 16 MiB - 1 or more continue in the next packet. Reads are buffered; writes are
//! built in one buffer and sent with one `write_all` per command (or per 64 KiB of a
//! streamed result set).

use std::io;
use std::task::Poll;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The largest payload of one packet; a payload this long continues in the next.
const MAX_CHUNK: usize = 0xff_ffff;

/// Buffers that grew past this for a large packet are shrunk back afterwards.
const KEEP_CAPACITY: usize = 1 << 20;

/// A packet longer than the reader's limit: the sequence number to answer with.
/// Carried inside the `io::Error` that [`PacketReader::next`] returns.
#[derive(Debug)]
pub struct TooLarge {
    pub seq: u8,
}

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("packet larger than allowed")
    }
}

impl std::error::Error for TooLarge {}

/// The [`TooLarge`] inside `e`, if that is why reading failed.
pub fn too_large(e: &io::Error) -> Option<&TooLarge> {
    e.get_ref()?.downcast_ref::<TooLarge>()
}

/// Reads whole (reassembled) packets. A payload that fits one packet (all but
/// those of 16 MiB or more) is handed out where it lies in the read buffer, not
/// copied: a relayed result set's rows are copied once, into the client's send
/// buffer.
pub struct PacketReader<R> {
    inner: R,
    buf: Vec<u8>,
    pos: usize,
    /// Where the payload read last lies in `buf`, when it fits one packet;
    /// otherwise it was reassembled into `payload`.
    direct: Option<(usize, usize)>,
    payload: Vec<u8>,
    /// The sequence number of the first packet of the payload read last.
    first_seq: u8,
}

impl<R: AsyncRead + Unpin> PacketReader<R> {
    pub fn new(inner: R) -> Self {
        PacketReader {
            inner,
            buf: Vec::with_capacity(16 * 1024),
            pos: 0,
            direct: None,
            payload: Vec::new(),
            first_seq: 0,
        }
    }

    /// The stream and what was read from it but not taken yet (a TLS handshake a
    /// client sent right after its TLS request).
    pub fn into_inner(self) -> (R, Vec<u8>) {
        let unread = self.buf[self.pos..].to_vec();
        (self.inner, unread)
    }

    /// Makes at least `n` unread bytes available; `false` when the peer closed the
    /// connection before sending any of them.
    async fn fill(&mut self, n: usize) -> io::Result<bool> {
        while self.buf.len() - self.pos < n {
            if self.pos > 0 {
                self.buf.drain(..self.pos);
                self.pos = 0;
            }
            self.buf.reserve(n.max(16 * 1024));
            if self.inner.read_buf(&mut self.buf).await? == 0 {
                if self.buf.is_empty() {
                    return Ok(false);
                }
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the peer closed the connection mid-packet",
                ));
            }
        }
        Ok(true)
    }

    /// The next packet's sequence number, its payload then in [`Self::payload`];
    /// `None` when the client closed the connection between packets. A payload
    /// longer than `max` fails with [`TooLarge`] before any of it is read.
    pub async fn next(&mut self, max: usize) -> io::Result<Option<u8>> {
        self.direct = None;
        self.payload.clear();
        // Give back what one large packet needed.
        if self.payload.capacity() > KEEP_CAPACITY {
            self.payload.shrink_to(16 * 1024);
        }
        if self.buf.capacity() > KEEP_CAPACITY {
            self.buf.drain(..self.pos);
            self.pos = 0;
            self.buf.shrink_to(16 * 1024);
        }
        loop {
            if !self.fill(4).await? {
                if self.payload.is_empty() {
                    return Ok(None);
                }
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the peer closed the connection mid-packet",
                ));
            }
            let head = &self.buf[self.pos..self.pos + 4];
            let len = usize::from(head[0]) | usize::from(head[1]) << 8 | usize::from(head[2]) << 16;
            let seq = head[3];
            if self.payload.is_empty() {
                self.first_seq = seq;
            }
            if self.payload.len() + len > max {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    TooLarge {
                        seq: seq.wrapping_add(1),
                    },
                ));
            }
            if !self.fill(4 + len).await? {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the peer closed the connection mid-packet",
                ));
            }
            let start = self.pos + 4;
            self.pos = start + len;
            if len < MAX_CHUNK && self.payload.is_empty() {
                // The whole payload in one packet: left where it is (`fill` moves
                // the buffer only on the next call).
                self.direct = Some((start, start + len));
                return Ok(Some(seq));
            }
            self.payload.extend_from_slice(&self.buf[start..start + len]);
            if len < MAX_CHUNK {
                return Ok(Some(seq));
            }
        }
    }

    /// The payload read last by [`Self::next`].
    pub fn payload(&self) -> &[u8] {
        match self.direct {
            Some((start, end)) => &self.buf[start..end],
            None => &self.payload,
        }
    }

    /// Whole packets already in the read buffer after the one read last, taken at
    /// once while `take(seq, payload)` accepts each (only packets under 16 MiB, so
    /// each is a whole payload): the bytes, headers included, as they came. No read
    /// from the stream; empty when the next packet is not all here or is refused.
    pub fn take_buffered(&mut self, mut take: impl FnMut(u8, &[u8]) -> bool) -> &[u8] {
        self.direct = None;
        self.payload.clear();
        let start = self.pos;
        let mut at = start;
        while let Some(head) = self.buf.get(at..at + 4) {
            let len = usize::from(head[0]) | usize::from(head[1]) << 8 | usize::from(head[2]) << 16;
            let Some(payload) = self.buf.get(at + 4..at + 4 + len) else {
                break;
            };
            if len >= MAX_CHUNK || !take(head[3], payload) {
                break;
            }
            at += 4 + len;
        }
        self.pos = at;
        &self.buf[start..at]
    }

    /// The sequence number the payload read last began with (a payload of 16 MiB
    /// or more spans several packets; [`Self::next`] returns the last one's).
    pub fn first_seq(&self) -> u8 {
        self.first_seq
    }

    /// Reads and drops what the peer sends until it closes, `limit` bytes went by,
    /// or `within` passed.
    pub async fn discard(&mut self, limit: usize, within: std::time::Duration) {
        let drain = async {
            let mut buf = vec![0u8; 64 * 1024];
            let mut seen = 0;
            while seen < limit {
                match self.inner.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => seen += n,
                }
            }
        };
        let _ = tokio::time::timeout(within, drain).await;
    }
}

/// How long a write to the client may wait for the client to read.
pub const WRITE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Builds packets into one buffer and sends them.
pub struct PacketWriter<W> {
    inner: W,
    buf: Vec<u8>,
    /// Where the packet being built starts (its header).
    start: usize,
    seq: u8,
    /// Bytes sent so far (for [`Mark`]s).
    sent: u64,
}

/// A place in what a [`PacketWriter`] built, to take back what follows it.
#[derive(Clone, Copy, Debug)]
pub struct Mark {
    /// Bytes built before it, sent or not.
    at: u64,
    seq: u8,
}

impl<W: AsyncWrite + Unpin> PacketWriter<W> {
    pub fn new(inner: W) -> Self {
        PacketWriter {
            inner,
            buf: Vec::with_capacity(16 * 1024),
            start: 0,
            seq: 0,
            sent: 0,
        }
    }

    /// Where the next packet goes, for [`Self::one_ok_since`] and
    /// [`Self::take_back`].
    pub fn mark(&self) -> Mark {
        Mark {
            at: self.sent + self.buf.len() as u64,
            seq: self.seq,
        }
    }

    /// The packets built since `mark`, when none of them has been sent.
    fn since(&self, mark: Mark) -> Option<&[u8]> {
        let start = mark.at.checked_sub(self.sent)?;
        self.buf.get(usize::try_from(start).ok()?..)
    }

    /// What was built since `mark` is one OK packet, not sent yet.
    pub fn one_ok_since(&self, mark: Mark) -> bool {
        match self.since(mark) {
            Some(p) if p.len() > 4 => {
                let len = usize::from(p[0]) | usize::from(p[1]) << 8 | usize::from(p[2]) << 16;
                p.len() == 4 + len && p[4] == 0x00
            }
            _ => false,
        }
    }

    /// Drops the packets built since `mark` (when none of them has been sent), and
    /// numbers the next one as the first of them was.
    pub fn take_back(&mut self, mark: Mark) {
        if let Some(start) = mark.at.checked_sub(self.sent).and_then(|s| usize::try_from(s).ok()) {
            if start <= self.buf.len() {
                self.buf.truncate(start);
                self.seq = mark.seq;
            }
        }
    }

    /// The stream (anything not flushed is dropped).
    pub fn into_inner(self) -> W {
        self.inner
    }

    /// The sequence number of the next packet.
    pub fn set_seq(&mut self, seq: u8) {
        self.seq = seq;
    }

    /// The sequence number the next packet gets.
    pub fn seq(&self) -> u8 {
        self.seq
    }

    /// Starts a packet; its payload follows through the `put_*` methods.
    pub fn begin(&mut self) {
        self.start = self.buf.len();
        self.buf.extend_from_slice(&[0, 0, 0, 0]);
    }

    /// Ends the packet begun last, splitting it when it is 16 MiB or longer.
    pub fn end(&mut self) {
        let len = self.buf.len() - self.start - 4;
        if len < MAX_CHUNK {
            self.header(self.start, len);
            return;
        }
        let payload = self.buf.split_off(self.start + 4);
        self.buf.truncate(self.start);
        let mut chunks = payload.chunks(MAX_CHUNK).peekable();
        while let Some(chunk) = chunks.next() {
            let at = self.buf.len();
            self.buf.extend_from_slice(&[0, 0, 0, 0]);
            self.header(at, chunk.len());
            self.buf.extend_from_slice(chunk);
            if chunks.peek().is_none() && chunk.len() == MAX_CHUNK {
                // A payload of an exact multiple ends with an empty packet.
                let at = self.buf.len();
                self.buf.extend_from_slice(&[0, 0, 0, 0]);
                self.header(at, 0);
            }
        }
    }

    fn header(&mut self, at: usize, len: usize) {
        self.buf[at] = len as u8;
        self.buf[at + 1] = (len >> 8) as u8;
        self.buf[at + 2] = (len >> 16) as u8;
        self.buf[at + 3] = self.seq;
        self.seq = self.seq.wrapping_add(1);
    }

    /// Whole packets (headers included, each under 16 MiB, as
    /// [`PacketReader::take_buffered`] gives them) appended as they are, renumbered
    /// to follow the packets built before.
    pub fn put_packets(&mut self, packets: &[u8]) {
        let mut at = self.buf.len();
        self.buf.extend_from_slice(packets);
        while at < self.buf.len() {
            let len =
                usize::from(self.buf[at]) | usize::from(self.buf[at + 1]) << 8 | usize::from(self.buf[at + 2]) << 16;
            self.buf[at + 3] = self.seq;
            self.seq = self.seq.wrapping_add(1);
            at += 4 + len;
        }
    }

    /// Bytes built and not sent yet.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// Sends everything built so far.
    pub async fn flush(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            // Most writes fit the socket's buffer at once: only one that would wait
            // arms a timer (inserting and removing one per write costs clock reads
            // and timer-wheel work on every command).
            let written = self.write_now().await?;
            if written < self.buf.len() {
                // A client that stops reading must not hold the session (and the
                // backend transaction's locks) forever.
                let rest = &self.buf[written..];
                match tokio::time::timeout(WRITE_TIMEOUT, self.inner.write_all(rest)).await {
                    Ok(done) => done?,
                    Err(_) => {
                        return Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "a write waited 60 s for the peer to read",
                        ))
                    }
                }
            }
            self.sent += self.buf.len() as u64;
            self.buf.clear();
            if self.buf.capacity() > 1 << 20 {
                self.buf.shrink_to(64 * 1024);
            }
        }
        self.inner.flush().await
    }

    /// Writes what the socket takes without waiting; how many bytes that was.
    async fn write_now(&mut self) -> io::Result<usize> {
        let mut written = 0;
        std::future::poll_fn(|cx| {
            while written < self.buf.len() {
                match std::pin::Pin::new(&mut self.inner).poll_write(cx, &self.buf[written..]) {
                    Poll::Ready(Ok(0)) => {
                        return Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::WriteZero,
                            "the peer takes no more bytes",
                        )))
                    }
                    Poll::Ready(Ok(n)) => written += n,
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    // The rest waits, under the write timeout.
                    Poll::Pending => break,
                }
            }
            Poll::Ready(Ok(written))
        })
        .await
    }

    /// Ends the sending side (the peer reads end-of-file after what was sent).
    pub async fn shutdown(&mut self) {
        let _ = self.inner.shutdown().await;
    }

    pub fn put_u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    pub fn put_u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub fn put_u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub fn put_bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    /// A length-encoded integer.
    pub fn put_lenenc_int(&mut self, n: u64) {
        if n < 251 {
            self.buf.push(n as u8);
        } else if n < 1 << 16 {
            self.buf.push(0xfc);
            self.buf.extend_from_slice(&(n as u16).to_le_bytes());
        } else if n < 1 << 24 {
            self.buf.push(0xfd);
            self.buf.extend_from_slice(&(n as u32).to_le_bytes()[..3]);
        } else {
            self.buf.push(0xfe);
            self.buf.extend_from_slice(&n.to_le_bytes());
        }
    }

    /// A length-encoded string.
    pub fn put_lenenc_bytes(&mut self, b: &[u8]) {
        self.put_lenenc_int(b.len() as u64);
        self.buf.extend_from_slice(b);
    }

    /// Reserves `n` zero bytes and returns where they start (a NULL bitmap).
    pub fn put_zeros(&mut self, n: usize) -> usize {
        let at = self.buf.len();
        self.buf.resize(at + n, 0);
        at
    }

    /// Sets bit `bit` of the byte at `at`.
    pub fn set_bit(&mut self, at: usize, bit: usize) {
        self.buf[at + bit / 8] |= 1 << (bit % 8);
    }
}

/// Reads the fields of a client packet; every read checks its bounds.
pub struct Cursor<'a> {
    pub rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Cursor { rest: b }
    }

    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.rest.len() < n {
            return None;
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Some(head)
    }

    pub fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    pub fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }

    pub fn u32(&mut self) -> Option<u32> {
        self.take(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn u64(&mut self) -> Option<u64> {
        self.take(8).map(|b| {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            u64::from_le_bytes(a)
        })
    }

    pub fn lenenc_int(&mut self) -> Option<u64> {
        match self.u8()? {
            0xfc => self.u16().map(u64::from),
            0xfd => self
                .take(3)
                .map(|b| u64::from(b[0]) | u64::from(b[1]) << 8 | u64::from(b[2]) << 16),
            0xfe => self.u64(),
            n if n < 0xfb => Some(u64::from(n)),
            _ => None,
        }
    }

    pub fn lenenc_bytes(&mut self) -> Option<&'a [u8]> {
        let n = usize::try_from(self.lenenc_int()?).ok()?;
        self.take(n)
    }

    /// Bytes up to a NUL (consumed), or to the end when there is none.
    pub fn nul_str(&mut self) -> &'a [u8] {
        match self.rest.iter().position(|b| *b == 0) {
            Some(i) => {
                let s = &self.rest[..i];
                self.rest = &self.rest[i + 1..];
                s
            }
            None => std::mem::take(&mut self.rest),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn packets_round_trip_including_split_ones() {
        let mut w = PacketWriter::new(Vec::new());
        w.set_seq(3);
        w.begin();
        w.put_bytes(b"hello");
        w.end();
        let big = vec![7u8; MAX_CHUNK + 10];
        w.begin();
        w.put_bytes(&big);
        w.end();
        w.flush().await.expect("flush to a Vec");
        let bytes = std::mem::take(&mut w.inner);
        assert_eq!(&bytes[..9], b"\x05\x00\x00\x03hello");
        let mut r = PacketReader::new(&bytes[..]);
        assert_eq!(r.next(usize::MAX).await.expect("read"), Some(3));
        assert_eq!(r.payload(), b"hello");
        // A split payload answers with the sequence number of its last packet.
        assert_eq!(r.next(usize::MAX).await.expect("read"), Some(5));
        assert_eq!(r.payload(), &big[..]);
        assert_eq!(r.next(usize::MAX).await.expect("read"), None);
    }

    /// Hands out at most 5 bytes per read, so packets straddle reads.
    struct Trickle<'a>(&'a [u8]);

    impl AsyncRead for Trickle<'_> {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            _cx: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let n = self.0.len().min(5).min(buf.remaining());
            buf.put_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn payloads_read_in_place_survive_the_buffer_moving() {
        // Payloads handed out where they lie in the read buffer: each must be
        // whole and exact although the buffer is compacted between packets.
        let mut w = PacketWriter::new(Vec::new());
        let payloads: Vec<Vec<u8>> = (0..40u8).map(|i| vec![i; usize::from(i) * 7]).collect();
        for p in &payloads {
            w.begin();
            w.put_bytes(p);
            w.end();
        }
        w.flush().await.expect("flush to a Vec");
        let bytes = std::mem::take(&mut w.inner);
        let mut r = PacketReader::new(Trickle(&bytes));
        for (i, p) in payloads.iter().enumerate() {
            assert_eq!(r.next(usize::MAX).await.expect("read"), Some(i as u8));
            assert_eq!(r.first_seq(), i as u8);
            assert_eq!(r.payload(), &p[..], "payload {i}");
        }
        assert_eq!(r.next(usize::MAX).await.expect("read"), None);
        assert_eq!(r.payload(), b"");
    }

    #[test]
    fn lenenc_values_decode() {
        let mut c = Cursor::new(b"\x05\xfc\x00\x01\xfd\x01\x00\x01abc\x00rest");
        assert_eq!(c.lenenc_int(), Some(5));
        assert_eq!(c.lenenc_int(), Some(256));
        assert_eq!(c.lenenc_int(), Some(65537));
        assert_eq!(c.nul_str(), b"abc");
        assert_eq!(c.nul_str(), b"rest");
        assert_eq!(c.u8(), None);
    }
}
