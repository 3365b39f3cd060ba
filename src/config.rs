//! Typed configuration read once from the environment at start-up. Defaults live here
//! and nowhere else; a malformed value stops the process with a message naming the
//! variable. Secrets (URLs with passwords) are redacted when the config is printed.

use std::{fmt, net::IpAddr, path::PathBuf, time::Duration};

/// Everything an instance needs to know about its surroundings.
#[derive(Clone)]
pub struct Config {
    /// `sqlite://…` (embedded) or `postgres://…` (cluster).
    pub database_url: String,
    /// `None` = embedded mode: hot state and fan-out live in this process.
    pub redis_url: Option<String>,
    /// Most database connections this instance opens.
    pub database_pool_size: u32,
    /// `REDIS_URL` lists Redis Cluster seed nodes (comma-separated).
    pub redis_cluster: bool,
    /// Prefix of every Redis key and channel, so several deployments (or tests) can share one Redis.
    pub redis_prefix: String,
    /// Sliding time-to-live of a game's hot state.
    pub game_ttl: Duration,
    pub bind: IpAddr,
    pub port: u16,
    pub audit_dir: PathBuf,
    /// How often the audit chain head is recorded in the database (also at start and shutdown).
    pub audit_anchor_interval: Duration,
    pub instance_id: String,
    pub static_dir: PathBuf,
    /// Default per-move time limit of a new game.
    pub move_time_limit_secs: u32,
    /// How long a disconnected seat may stay away before it loses by abandonment.
    pub abandon_grace: Duration,
    /// How long a waiting game may wait for an opponent before it is cancelled.
    pub waiting_game_ttl: Duration,
}

/// Bounds a game's per-move time limit must respect.
pub const MOVE_TIME_LIMIT_RANGE: std::ops::RangeInclusive<u32> = 5..=600;

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {name}={value:?}: {reason}")]
pub struct ConfigError {
    name: &'static str,
    value: String,
    reason: String,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`, so tests can build one without touching the environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let instance_id = get("INSTANCE_ID").unwrap_or_else(default_instance_id);
        let config = Config {
            database_url: get("DATABASE_URL")
                .unwrap_or_else(|| "sqlite://./data/connect4.db?mode=rwc".to_string()),
            redis_url: get("REDIS_URL"),
            database_pool_size: parse(&get, "DATABASE_POOL_SIZE", crate::cold::DEFAULT_POOL_SIZE)?,
            redis_cluster: parse(&get, "REDIS_CLUSTER", false)?,
            redis_prefix: get("REDIS_PREFIX").unwrap_or_else(|| "c4".to_string()),
            game_ttl: Duration::from_secs(parse(&get, "GAME_TTL_SECONDS", 86_400)?),
            bind: parse(&get, "BIND", IpAddr::from([0, 0, 0, 0]))?,
            port: parse(&get, "PORT", 8000)?,
            audit_dir: get("AUDIT_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("./data/audit")),
            audit_anchor_interval: Duration::from_secs(parse(&get, "AUDIT_ANCHOR_SECONDS", 10)?),
            static_dir: get("STATIC_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("./static")),
            move_time_limit_secs: parse(&get, "MOVE_TIME_LIMIT_SECONDS", 60)?,
            abandon_grace: Duration::from_secs(parse(&get, "ABANDON_GRACE_SECONDS", 60)?),
            waiting_game_ttl: Duration::from_secs(parse(&get, "WAITING_GAME_TTL_SECONDS", 3600)?),
            instance_id,
        };
        if !MOVE_TIME_LIMIT_RANGE.contains(&config.move_time_limit_secs) {
            return Err(ConfigError {
                name: "MOVE_TIME_LIMIT_SECONDS",
                value: config.move_time_limit_secs.to_string(),
                reason: format!(
                    "must be between {} and {}",
                    MOVE_TIME_LIMIT_RANGE.start(),
                    MOVE_TIME_LIMIT_RANGE.end()
                ),
            });
        }
        if config.audit_anchor_interval.is_zero() {
            return Err(ConfigError {
                name: "AUDIT_ANCHOR_SECONDS",
                value: "0".into(),
                reason: "must be at least 1".into(),
            });
        }
        if !config
            .instance_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        {
            return Err(ConfigError {
                name: "INSTANCE_ID",
                value: config.instance_id,
                reason: "only letters, digits, '-', '_' and '.' are allowed".into(),
            });
        }
        Ok(config)
    }

    /// The Redis URLs: one, or the cluster's seed nodes.
    pub fn redis_urls(&self) -> Vec<String> {
        self.redis_url
            .as_deref()
            .map(|urls| {
                urls.split(',')
                    .map(str::trim)
                    .filter(|u| !u.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// True when hot state and fan-out are shared through Redis.
    pub fn is_cluster(&self) -> bool {
        self.redis_url.is_some()
    }
}

fn parse<T: std::str::FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError>
where
    T::Err: fmt::Display,
{
    match get(name) {
        None => Ok(default),
        Some(value) => value.trim().parse().map_err(|err: T::Err| ConfigError {
            name,
            reason: err.to_string(),
            value,
        }),
    }
}

fn default_instance_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|name| name.trim().to_string())
        .unwrap_or_default();
    let host: String = host
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    if host.is_empty() {
        format!("instance-{}", std::process::id())
    } else {
        host
    }
}

/// Hides the password of a connection URL.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://***{}", &url[..scheme_end], &url[at..])
        }
        _ => url.to_string(),
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &redact(&self.database_url))
            .field("database_pool_size", &self.database_pool_size)
            .field("redis_url", &self.redis_url.as_deref().map(redact))
            .field("redis_cluster", &self.redis_cluster)
            .field("redis_prefix", &self.redis_prefix)
            .field("game_ttl", &self.game_ttl)
            .field("bind", &self.bind)
            .field("port", &self.port)
            .field("audit_dir", &self.audit_dir)
            .field("audit_anchor_interval", &self.audit_anchor_interval)
            .field("instance_id", &self.instance_id)
            .field("static_dir", &self.static_dir)
            .field("move_time_limit_secs", &self.move_time_limit_secs)
            .field("abandon_grace", &self.abandon_grace)
            .field("waiting_game_ttl", &self.waiting_game_ttl)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_from(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn defaults_are_the_embedded_mode() {
        let config = config_from(&[("INSTANCE_ID", "test")]).expect("defaults are valid");
        assert!(!config.is_cluster());
        assert_eq!(config.port, 8000);
        assert_eq!(config.game_ttl, Duration::from_secs(86_400));
        assert!(config.database_url.starts_with("sqlite://./data/"));
        assert_eq!(config.redis_prefix, "c4");
    }

    #[test]
    fn a_malformed_number_names_the_variable() {
        let err = config_from(&[("PORT", "eighty")]).expect_err("PORT must be a number");
        assert!(err.to_string().contains("PORT"), "{err}");
    }

    #[test]
    fn passwords_never_print() {
        let config = config_from(&[
            ("DATABASE_URL", "postgres://app:s3cret@db:5432/c4"),
            ("REDIS_URL", "redis://:hunter2@cache:6379"),
        ])
        .expect("valid");
        let printed = format!("{config:?}");
        assert!(
            !printed.contains("s3cret") && !printed.contains("hunter2"),
            "{printed}"
        );
        assert!(printed.contains("db:5432"));
    }

    #[test]
    fn audit_anchors_are_recorded_every_ten_seconds_unless_configured() {
        let config = config_from(&[("INSTANCE_ID", "test")]).expect("defaults are valid");
        assert_eq!(config.audit_anchor_interval, Duration::from_secs(10));
        let config = config_from(&[("AUDIT_ANCHOR_SECONDS", "2")]).expect("valid");
        assert_eq!(config.audit_anchor_interval, Duration::from_secs(2));
        let err = config_from(&[("AUDIT_ANCHOR_SECONDS", "0")]).expect_err("zero is refused");
        assert!(err.to_string().contains("AUDIT_ANCHOR_SECONDS"), "{err}");
    }

    #[test]
    fn move_time_limit_is_bounded() {
        assert!(config_from(&[("MOVE_TIME_LIMIT_SECONDS", "1")]).is_err());
        assert!(config_from(&[("MOVE_TIME_LIMIT_SECONDS", "30")]).is_ok());
    }
}
