//! The physical limit for the data-plane benchmark: a minimal hyper server (HTTP/1.1, tokio, no
//! router, no middleware) that answers `/1k` and `/100k` with fixed bytes and 404 otherwise.
//! `benches/dataplane.py` builds it with the release profile (fat LTO, like appconfigd's) and loads it beside
//! appconfigd the same way.
//!
//! `BARE_SPIN_NS=N` makes it busy-wait N ns per request before answering: a bare server that
//! spends as much CPU per request as appconfigd does, to tell which part of a latency gap is
//! the extra CPU itself (`benches/dataplane.py --spin-ns`).

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:4999".into());
    let small = Bytes::from(vec![b'a'; 1024]);
    let large = Bytes::from(vec![b'a'; 100 * 1024]);
    let spin = std::time::Duration::from_nanos(
        std::env::var("BARE_SPIN_NS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
    );
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("bare hyper listening on http://{}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let (small, large) = (small.clone(), large.clone());
        tokio::spawn(async move {
            let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                if !spin.is_zero() {
                    let start = std::time::Instant::now();
                    while start.elapsed() < spin {
                        std::hint::spin_loop();
                    }
                }
                let answer = match req.uri().path() {
                    "/1k" => Response::new(Full::new(small.clone())),
                    "/100k" => Response::new(Full::new(large.clone())),
                    _ => {
                        let mut r = Response::new(Full::new(Bytes::new()));
                        *r.status_mut() = StatusCode::NOT_FOUND;
                        r
                    }
                };
                std::future::ready(Ok::<_, Infallible>(answer))
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
