//! What one query may use: time, memory (its own budget and a share of the server's), and a
//! place among a bounded number of concurrent queries.

use std::sync::Arc;
use std::time::Duration;

use datafusion::error::Result;
use datafusion::execution::memory_pool::{GreedyMemoryPool, MemoryLimit, MemoryPool, MemoryReservation};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::prelude::SessionContext;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Server-wide limits (flags and `[server]` in `trailscope.toml`).
#[derive(Debug, Clone)]
pub struct Limits {
    pub query_timeout: Duration,
    /// Memory one query may hold in DataFusion operators (sorts, aggregations, joins).
    pub query_memory: usize,
    /// Memory all running queries together may hold.
    pub server_memory: usize,
    pub max_concurrent: usize,
    /// How long a query waits for a free slot before it is turned away.
    pub queue_wait: Duration,
    pub max_body_bytes: usize,
    pub search: trailscope_search::Limits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            query_timeout: Duration::from_secs(30),
            query_memory: 512 << 20,
            server_memory: 2 << 30,
            max_concurrent: 4,
            queue_wait: Duration::from_secs(2),
            max_body_bytes: 10 << 20,
            search: trailscope_search::Limits::default(),
        }
    }
}

/// A memory pool that charges both the query's own budget and the server's shared one.
#[derive(Debug)]
struct QueryPool {
    query: GreedyMemoryPool,
    server: Arc<dyn MemoryPool>,
}

impl std::fmt::Display for QueryPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "query pool ({} bytes reserved)", self.query.reserved())
    }
}

impl MemoryPool for QueryPool {
    fn name(&self) -> &str {
        "trailscope-query"
    }

    fn grow(&self, r: &MemoryReservation, additional: usize) {
        self.query.grow(r, additional);
        self.server.grow(r, additional);
    }

    fn shrink(&self, r: &MemoryReservation, shrink: usize) {
        self.query.shrink(r, shrink);
        self.server.shrink(r, shrink);
    }

    fn try_grow(&self, r: &MemoryReservation, additional: usize) -> Result<()> {
        self.query.try_grow(r, additional)?;
        if let Err(e) = self.server.try_grow(r, additional) {
            self.query.shrink(r, additional);
            return Err(e);
        }
        Ok(())
    }

    fn reserved(&self) -> usize {
        self.query.reserved()
    }

    fn memory_limit(&self) -> MemoryLimit {
        self.query.memory_limit()
    }
}

/// Shared state behind the limits.
#[derive(Debug)]
pub struct Gate {
    pub limits: Limits,
    slots: Arc<Semaphore>,
    server_pool: Arc<dyn MemoryPool>,
}

/// Why a query was not admitted.
#[derive(Debug)]
pub struct Busy {
    pub running: usize,
}

impl Gate {
    pub fn new(limits: Limits) -> Gate {
        Gate {
            slots: Arc::new(Semaphore::new(limits.max_concurrent.max(1))),
            server_pool: Arc::new(GreedyMemoryPool::new(limits.server_memory)),
            limits,
        }
    }

    /// Waits up to `queue_wait` for a slot.
    pub async fn admit(&self) -> std::result::Result<OwnedSemaphorePermit, Busy> {
        match tokio::time::timeout(self.limits.queue_wait, Arc::clone(&self.slots).acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(Busy {
                running: self.limits.max_concurrent,
            }),
        }
    }

    pub fn in_flight(&self) -> usize {
        self.limits.max_concurrent.max(1) - self.slots.available_permits()
    }

    pub fn server_memory_reserved(&self) -> usize {
        self.server_pool.reserved()
    }

    /// A session like `base` (same tables and functions) whose operators draw on a fresh
    /// per-query budget and the shared server budget.
    pub fn query_context(&self, base: &SessionContext) -> Result<SessionContext> {
        let pool = Arc::new(QueryPool {
            query: GreedyMemoryPool::new(self.limits.query_memory),
            server: Arc::clone(&self.server_pool),
        });
        let runtime = RuntimeEnvBuilder::from_runtime_env(base.runtime_env().as_ref())
            .with_memory_pool(pool)
            .build_arc()?;
        let state = SessionStateBuilder::new_from_existing(base.state())
            .with_runtime_env(runtime)
            .build();
        Ok(SessionContext::new_with_state(state))
    }
}

#[cfg(test)]
mod tests {
    use datafusion::execution::memory_pool::MemoryConsumer;

    use super::*;

    #[tokio::test]
    async fn concurrency_is_bounded_and_waits_are_short() {
        let gate = Gate::new(Limits {
            max_concurrent: 1,
            queue_wait: Duration::from_millis(50),
            ..Limits::default()
        });
        let first = gate.admit().await;
        assert!(first.is_ok());
        assert_eq!(gate.in_flight(), 1);
        assert!(gate.admit().await.is_err(), "a second query must be turned away");
        drop(first);
        assert!(gate.admit().await.is_ok(), "the slot is free again");
    }

    #[test]
    fn a_query_is_held_to_its_own_budget_and_the_servers() {
        let server: Arc<dyn MemoryPool> = Arc::new(GreedyMemoryPool::new(150));
        let pool = |query| -> Arc<dyn MemoryPool> {
            Arc::new(QueryPool {
                query: GreedyMemoryPool::new(query),
                server: Arc::clone(&server),
            })
        };
        let (a, b) = (pool(100), pool(100));
        let ra = MemoryConsumer::new("a").register(&a);
        let rb = MemoryConsumer::new("b").register(&b);
        assert!(ra.try_grow(101).is_err(), "over the query's own budget");
        assert!(ra.try_grow(100).is_ok());
        assert!(rb.try_grow(60).is_err(), "over what the server has left");
        assert_eq!(b.reserved(), 0, "a refused reservation is rolled back");
        assert!(rb.try_grow(50).is_ok());
        drop(ra);
        assert_eq!(server.reserved(), 50);
    }
}
