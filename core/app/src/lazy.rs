//! Values made on first use, once per Lambda sandbox: keyturn's own
//! credentials (Jira, Entra, Okta) live in Secrets Manager, and reading them
//! at init would put a network round trip into every cold start, even of a
//! sandbox that never needs them. A failed read is retried on the next use.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

type Init<T> = Box<dyn Fn() -> Pin<Box<dyn Future<Output = Result<T, String>> + Send>> + Send + Sync>;

pub struct Lazy<T> {
    cell: tokio::sync::OnceCell<T>,
    init: Init<T>,
}

impl<T> Lazy<T> {
    /// `init` runs on the first [`Lazy::get`] (and again after it failed).
    pub fn new<F, Fut>(init: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, String>> + Send + 'static,
    {
        Self { cell: tokio::sync::OnceCell::new(), init: Box::new(move || Box::pin(init())) }
    }

    pub async fn get(&self) -> Result<&T, String> {
        self.cell.get_or_try_init(|| (self.init)()).await
    }
}

impl<T: fmt::Debug> fmt::Debug for Lazy<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.cell.get() {
            Some(v) => write!(f, "Lazy({v:?})"),
            None => f.write_str("Lazy(<not yet loaded>)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    #[tokio::test]
    async fn made_once_and_retried_after_a_failure() {
        let calls = Arc::new(AtomicU32::new(0));
        let c = calls.clone();
        let lazy = Lazy::new(move || {
            let n = c.fetch_add(1, Ordering::SeqCst);
            async move {
                if n == 0 {
                    Err("throttled".to_owned())
                } else {
                    Ok(n)
                }
            }
        });
        assert_eq!(lazy.get().await, Err("throttled".to_owned()));
        assert_eq!(lazy.get().await, Ok(&1));
        assert_eq!(lazy.get().await, Ok(&1), "made once");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }
}
