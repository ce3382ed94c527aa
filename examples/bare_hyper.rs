//! The physical limit for the data-plane benchmark: a minimal HTTP server on the same stack
//! (hyper via axum, tokio) that returns fixed bytes. `benches/dataplane.py` runs it beside
//! appconfigd and loads both the same way.

use axum::routing::get;
use axum::Router;
use bytes::Bytes;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:4999".into());
    let small = Bytes::from(vec![b'a'; 1024]);
    let large = Bytes::from(vec![b'a'; 100 * 1024]);
    let app = Router::new()
        .route("/1k", get(move || std::future::ready(small.clone())))
        .route("/100k", get(move || std::future::ready(large.clone())));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("bare hyper listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}
