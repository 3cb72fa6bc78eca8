//! The byte streams under both sides of the protocol: TCP, a Unix socket (backends
//! only), or TLS over TCP, split into a read and a write side.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{tcp, unix, TcpStream};

/// A TCP stream that first yields bytes already read from it (what a client sent
/// right after asking for TLS belongs to the TLS handshake).
pub struct Rewound {
    unread: Vec<u8>,
    pos: usize,
    stream: TcpStream,
}

impl Rewound {
    pub fn new(unread: Vec<u8>, stream: TcpStream) -> Self {
        Rewound { unread, pos: 0, stream }
    }
}

impl AsyncRead for Rewound {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        if me.pos < me.unread.len() {
            let n = buf.remaining().min(me.unread.len() - me.pos);
            buf.put_slice(&me.unread[me.pos..me.pos + n]);
            me.pos += n;
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut me.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Rewound {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

pub type TlsStream = tokio_rustls::TlsStream<Rewound>;

/// A connection's read side.
pub enum ReadHalf {
    Tcp(tcp::OwnedReadHalf),
    Unix(unix::OwnedReadHalf),
    Tls(tokio::io::ReadHalf<TlsStream>),
}

/// A connection's write side.
pub enum WriteHalf {
    Tcp(tcp::OwnedWriteHalf),
    Unix(unix::OwnedWriteHalf),
    Tls(tokio::io::WriteHalf<TlsStream>),
}

/// Both sides of a TCP connection.
pub fn tcp(stream: TcpStream) -> (ReadHalf, WriteHalf) {
    let (r, w) = stream.into_split();
    (ReadHalf::Tcp(r), WriteHalf::Tcp(w))
}

/// Both sides of a TLS connection.
pub fn tls(stream: TlsStream) -> (ReadHalf, WriteHalf) {
    let (r, w) = tokio::io::split(stream);
    (ReadHalf::Tls(r), WriteHalf::Tls(w))
}

/// The TCP stream of two TCP sides (with what was read and not taken), to start TLS on.
pub fn reunite(read: ReadHalf, unread: Vec<u8>, write: WriteHalf) -> io::Result<Rewound> {
    match (read, write) {
        (ReadHalf::Tcp(r), WriteHalf::Tcp(w)) => r
            .reunite(w)
            .map(|s| Rewound::new(unread, s))
            .map_err(|_| io::Error::other("the two sides of a connection do not match")),
        _ => Err(io::Error::other("TLS can only start on a plain TCP connection")),
    }
}

impl AsyncRead for ReadHalf {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ReadHalf::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            ReadHalf::Unix(s) => Pin::new(s).poll_read(cx, buf),
            ReadHalf::Tls(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for WriteHalf {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            WriteHalf::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            WriteHalf::Unix(s) => Pin::new(s).poll_write(cx, buf),
            WriteHalf::Tls(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WriteHalf::Tcp(s) => Pin::new(s).poll_flush(cx),
            WriteHalf::Unix(s) => Pin::new(s).poll_flush(cx),
            WriteHalf::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WriteHalf::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            WriteHalf::Unix(s) => Pin::new(s).poll_shutdown(cx),
            WriteHalf::Tls(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}
