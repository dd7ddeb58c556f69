//! A stand-in for the Lambda Runtime API on 127.0.0.1. It records every request a function
//! sends and never answers, so a function that reached its first
//! `GET /2018-06-01/runtime/invocation/next` stays parked there while its memory is read.

use std::io::{BufRead, BufReader, Read};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The path a Lambda runtime polls for its next event.
pub const NEXT_INVOCATION: &str = "/2018-06-01/runtime/invocation/next";

/// Bodies kept for diagnostics (an `init/error` report is a small JSON document).
const MAX_BODY_BYTES: usize = 64 * 1024;

/// One request as the stand-in saw it.
#[derive(Debug)]
pub struct Request {
    /// When its request line had arrived, before its headers and body were read.
    pub at: Instant,
    pub method: String,
    pub path: String,
    pub body: String,
}

/// The server: one listener on a free loopback port, served by one thread.
pub struct StandIn {
    addr: SocketAddr,
    requests: Receiver<Request>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl StandIn {
    /// Binds 127.0.0.1 on a free port and starts serving.
    pub fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let addr = listener.local_addr()?;
        let (sender, requests) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("runtime-api".into())
                .spawn(move || serve(&listener, &sender, &stop))?
        };
        Ok(Self {
            addr,
            requests,
            stop,
            thread: Some(thread),
        })
    }

    /// The value for `AWS_LAMBDA_RUNTIME_API`.
    pub fn host_port(&self) -> String {
        self.addr.to_string()
    }

    /// The next request, if one arrives within `timeout`.
    pub fn next_request(&self, timeout: Duration) -> Option<Request> {
        self.requests.recv_timeout(timeout).ok()
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the thread blocked in accept(); it sees the flag and returns.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(listener: &TcpListener, sender: &Sender<Request>, stop: &AtomicBool) {
    // Connections stay open until the server stops: a closed connection would wake the function.
    let mut open = Vec::new();
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        // One request per connection: a function that gets no answer sends no second one.
        if let Ok(request) = read_request(&stream) {
            let _ = sender.send(request);
        }
        open.push(stream);
    }
}

fn read_request(stream: &TcpStream) -> std::io::Result<Request> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let at = Instant::now();
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();

    let mut content_length = 0;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.trim().eq_ignore_ascii_case("content-length")
        {
            content_length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; content_length.min(MAX_BODY_BYTES)];
    reader.read_exact(&mut body)?;
    Ok(Request {
        at,
        method,
        path,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}
