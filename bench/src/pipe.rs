//! A bidirectional in-memory pipe: what one end writes, the other reads; a
//! read of an empty pipe would block (`WouldBlock`, or `Pending` for the
//! async traits, polled with a no-op waker).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

type Buf = Rc<RefCell<VecDeque<u8>>>;

/// One end of a pipe.
pub struct End {
    rx: Buf,
    tx: Buf,
    /// Counts what this end writes.
    sent: Rc<Cell<usize>>,
}

/// Bytes written each way through a metered pair.
#[derive(Clone)]
pub struct Meter(Rc<Cell<usize>>, Rc<Cell<usize>>);

impl Meter {
    /// Bytes written by the first end and by the second.
    pub fn get(&self) -> (usize, usize) {
        (self.0.get(), self.1.get())
    }

    /// Starts counting again.
    pub fn reset(&self) {
        self.0.set(0);
        self.1.set(0);
    }
}

/// Two connected ends and a meter of what each writes.
pub fn metered_pair() -> (End, End, Meter) {
    let (x, y) = (Buf::default(), Buf::default());
    let (sa, sb) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
    (
        End {
            rx: x.clone(),
            tx: y.clone(),
            sent: sa.clone(),
        },
        End {
            rx: y,
            tx: x,
            sent: sb.clone(),
        },
        Meter(sa, sb),
    )
}

/// Two connected ends.
pub fn pair() -> (End, End) {
    let (a, b, _) = metered_pair();
    (a, b)
}

impl io::Read for End {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut rx = self.rx.borrow_mut();
        if rx.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        io::Read::read(&mut *rx, buf)
    }
}

impl io::Write for End {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tx.borrow_mut().extend(buf);
        self.sent.set(self.sent.get() + buf.len());
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsyncRead for End {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let mut rx = self.rx.borrow_mut();
        if rx.is_empty() {
            return Poll::Pending;
        }
        let n = rx.len().min(buf.remaining());
        let (a, b) = rx.as_slices();
        let first = a.len().min(n);
        buf.put_slice(&a[..first]);
        buf.put_slice(&b[..n - first]);
        rx.drain(..n);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for End {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, b: &[u8]) -> Poll<io::Result<usize>> {
        self.tx.borrow_mut().extend(b);
        self.sent.set(self.sent.get() + b.len());
        Poll::Ready(Ok(b.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
