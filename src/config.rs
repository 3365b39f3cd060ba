//! Typed configuration read once from the environment at start-up. Defaults live here
//! and nowhere else; a malformed value stops the process with a message naming the
//! variable. Secrets (URLs with passwords) are redacted when the config is printed.

use std::{fmt, net::IpAddr, path::PathBuf, time::Duration};

/// Everything an instance needs to know about its surroundings.
#[derive(Clone)]
pub struct Config {
    /// `sqlite://…` (embedded) or `postgres://…` (cluster).
    pub database_url: String,
    /// Where hot state and fan-out live (`REDIS_URL`, `REDIS_CLUSTER`).
    pub hot: HotMode,
    /// Most database connections this instance opens.
    pub database_pool_size: u32,
    /// Group commit of moves (`MOVE_BATCH_MAX`, `MOVE_WRITERS`, `MOVE_BATCH_WINDOW_US`).
    pub move_batches: crate::cold::MoveBatches,
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
    /// Peers whose `X-Forwarded-For` is believed (load balancers); everyone else is
    /// identified by the socket's address.
    pub trusted_proxies: Vec<IpRange>,
    /// What one client may cost this instance.
    pub limits: Limits,
    /// What the computer opponents do.
    pub bots: BotSettings,
}

/// How the computer opponents behave (`BOT_MOVE_DELAY_MS`, `BOT_GAMES_RATED`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BotSettings {
    /// A pause before each bot move, so it looks like someone thinking (0 in tests).
    pub move_delay: Duration,
    /// Whether games against a bot change ratings.
    pub games_rated: bool,
}

impl BotSettings {
    fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<BotSettings, ConfigError> {
        let name = "BOT_MOVE_DELAY_MS";
        let delay_ms: u64 = parse(get, name, 700)?;
        if !BOT_MOVE_DELAY_MS_RANGE.contains(&delay_ms) {
            return Err(ConfigError {
                name,
                value: delay_ms.to_string(),
                reason: format!(
                    "must be between {} and {}",
                    BOT_MOVE_DELAY_MS_RANGE.start(),
                    BOT_MOVE_DELAY_MS_RANGE.end()
                ),
            });
        }
        Ok(BotSettings {
            move_delay: Duration::from_millis(delay_ms),
            games_rated: parse(get, "BOT_GAMES_RATED", false)?,
        })
    }
}

/// Bounds of `BOT_MOVE_DELAY_MS`: the pause plus the search (≤ 1 s) must stay well
/// inside the bot's turn clock ([`crate::service::state::BOT_TURN_SECS`]).
pub const BOT_MOVE_DELAY_MS_RANGE: std::ops::RangeInclusive<u64> = 0..=2000;

/// Where hot state and fan-out live: embedded (one process), or shared through one
/// Redis server or a Redis Cluster. Parsed once, so a bad `REDIS_URL` stops the
/// start-up instead of failing at the first connection.
#[derive(Clone, PartialEq, Eq)]
pub enum HotMode {
    /// In this process (no `REDIS_URL`): one instance.
    Embedded,
    /// One Redis server shared by every instance.
    Redis { url: String },
    /// A Redis Cluster, reached through its seed nodes (`REDIS_CLUSTER=true`).
    Cluster { seeds: Vec<String> },
}

impl HotMode {
    fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<HotMode, ConfigError> {
        let cluster: bool = parse(get, "REDIS_CLUSTER", false)?;
        let Some(value) = get("REDIS_URL") else {
            if cluster {
                return Err(ConfigError {
                    name: "REDIS_CLUSTER",
                    value: "true".into(),
                    reason: "needs REDIS_URL, the cluster's seed nodes (comma-separated)".into(),
                });
            }
            return Ok(HotMode::Embedded);
        };
        let error = |reason: String| ConfigError {
            name: "REDIS_URL",
            value: value.split(',').map(redact).collect::<Vec<_>>().join(","),
            reason,
        };
        let urls: Vec<String> = value
            .split(',')
            .map(str::trim)
            .filter(|url| !url.is_empty())
            .map(str::to_string)
            .collect();
        if urls.is_empty() {
            return Err(error("no Redis URL in the list".into()));
        }
        for url in &urls {
            redis::IntoConnectionInfo::into_connection_info(url.as_str())
                .map_err(|err| error(format!("{}: {err}", redact(url))))?;
        }
        if cluster {
            return Ok(HotMode::Cluster { seeds: urls });
        }
        match <[String; 1]>::try_from(urls) {
            Ok([url]) => Ok(HotMode::Redis { url }),
            Err(_) => Err(error(
                "several URLs are Redis Cluster seed nodes: set REDIS_CLUSTER=true".into(),
            )),
        }
    }
}

impl fmt::Debug for HotMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HotMode::Embedded => f.write_str("Embedded"),
            HotMode::Redis { url } => f.debug_struct("Redis").field("url", &redact(url)).finish(),
            HotMode::Cluster { seeds } => f
                .debug_struct("Cluster")
                .field(
                    "seeds",
                    &seeds.iter().map(|url| redact(url)).collect::<Vec<_>>(),
                )
                .finish(),
        }
    }
}

/// Bounds on what clients may make an instance do (see docs/OPERATIONS.md).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// A request's head must arrive within this of its first byte (or of the accept).
    pub header_read_timeout: Duration,
    /// A keep-alive connection with no request for this long is closed.
    pub idle_timeout: Duration,
    /// A lobby socket that has not identified within this is closed.
    pub ws_identify_timeout: Duration,
    /// Open connections one address may hold (trusted proxies are exempt); 0: no cap.
    pub connections_per_address: usize,
    /// Password hashes computed at once.
    pub hash_concurrency: usize,
    /// How long a request waits for a hashing slot before a 503 `server_busy`.
    pub hash_wait: Duration,
    /// Log-in attempts on one account per [`Limits::login_window`] before 429.
    pub login_attempts_per_account: u64,
    pub login_window: Duration,
    /// Sign-ups plus log-ins from one client address per [`Limits::address_window`].
    pub auth_attempts_per_address: u64,
    pub address_window: Duration,
}

impl Limits {
    fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Limits, ConfigError> {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Limits {
            header_read_timeout: positive_secs(get, "HTTP_HEADER_TIMEOUT_SECONDS", 10)?,
            idle_timeout: positive_secs(get, "HTTP_IDLE_TIMEOUT_SECONDS", 75)?,
            ws_identify_timeout: positive_secs(get, "WS_IDENTIFY_TIMEOUT_SECONDS", 10)?,
            connections_per_address: parse(get, "MAX_CONNECTIONS_PER_ADDRESS", 256)?,
            hash_concurrency: positive(get, "PASSWORD_HASH_CONCURRENCY", cores)?,
            hash_wait: Duration::from_millis(parse(get, "PASSWORD_HASH_WAIT_MS", 2000)?),
            login_attempts_per_account: positive(get, "LOGIN_ATTEMPTS_PER_ACCOUNT", 10)?,
            login_window: positive_secs(get, "LOGIN_LOCKOUT_SECONDS", 900)?,
            auth_attempts_per_address: positive(get, "AUTH_ATTEMPTS_PER_ADDRESS", 30)?,
            address_window: positive_secs(get, "AUTH_ADDRESS_WINDOW_SECONDS", 60)?,
        })
    }
}

/// An address or a CIDR block (`10.0.0.0/8`, `::1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpRange {
    network: IpAddr,
    prefix: u8,
}

impl IpRange {
    pub fn contains(&self, addr: IpAddr) -> bool {
        let addr = match addr {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(addr),
            v4 => v4,
        };
        match (self.network, addr) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl std::str::FromStr for IpRange {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address
            .trim()
            .parse()
            .map_err(|_| format!("{text:?} is not an IP address or CIDR block"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(prefix) => prefix
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{text:?}: the prefix length must be 0 to {max}"))?,
        };
        Ok(IpRange { network, prefix })
    }
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
        Ok(Config {
            database_url: get("DATABASE_URL")
                .unwrap_or_else(|| "sqlite://./data/connect4.db?mode=rwc".to_string()),
            hot: HotMode::from_lookup(&get)?,
            database_pool_size: parse(&get, "DATABASE_POOL_SIZE", crate::cold::DEFAULT_POOL_SIZE)?,
            move_batches: move_batches(&get)?,
            redis_prefix: get("REDIS_PREFIX").unwrap_or_else(|| "c4".to_string()),
            game_ttl: Duration::from_secs(parse(&get, "GAME_TTL_SECONDS", 86_400)?),
            bind: parse(&get, "BIND", IpAddr::from([0, 0, 0, 0]))?,
            port: parse(&get, "PORT", 8000)?,
            audit_dir: get("AUDIT_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("./data/audit")),
            audit_anchor_interval: positive_secs(&get, "AUDIT_ANCHOR_SECONDS", 10)?,
            static_dir: get("STATIC_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("./static")),
            move_time_limit_secs: move_time_limit(&get)?,
            abandon_grace: Duration::from_secs(parse(&get, "ABANDON_GRACE_SECONDS", 60)?),
            waiting_game_ttl: Duration::from_secs(parse(&get, "WAITING_GAME_TTL_SECONDS", 3600)?),
            trusted_proxies: parse_list(&get, "TRUSTED_PROXIES")?,
            bots: BotSettings::from_lookup(&get)?,
            limits: Limits::from_lookup(&get)?,
            instance_id: instance_id(&get)?,
        })
    }

    /// True when hot state and fan-out are shared through Redis.
    pub fn is_cluster(&self) -> bool {
        self.hot != HotMode::Embedded
    }
}

fn move_batches(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<crate::cold::MoveBatches, ConfigError> {
    let default = crate::cold::MoveBatches::default();
    Ok(crate::cold::MoveBatches {
        max_moves: parse(get, "MOVE_BATCH_MAX", default.max_moves)?.max(1),
        writers: parse(get, "MOVE_WRITERS", default.writers)?.max(1),
        window: std::time::Duration::from_micros(parse(
            get,
            "MOVE_BATCH_WINDOW_US",
            default.window.as_micros() as u64,
        )?),
    })
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

/// A comma-separated list (empty when unset).
fn parse_list<T: std::str::FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Vec<T>, ConfigError>
where
    T::Err: fmt::Display,
{
    let Some(value) = get(name) else {
        return Ok(Vec::new());
    };
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            item.parse().map_err(|err: T::Err| ConfigError {
                name,
                reason: err.to_string(),
                value: value.clone(),
            })
        })
        .collect()
}

/// A count that must be at least 1.
fn positive<T>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + Default + PartialEq + fmt::Display,
    T::Err: fmt::Display,
{
    let value = parse(get, name, default)?;
    if value == T::default() {
        return Err(ConfigError {
            name,
            value: value.to_string(),
            reason: "must be at least 1".into(),
        });
    }
    Ok(value)
}

/// A number of seconds that must be at least 1.
fn positive_secs(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u64,
) -> Result<Duration, ConfigError> {
    positive(get, name, default).map(Duration::from_secs)
}

fn move_time_limit(get: &impl Fn(&str) -> Option<String>) -> Result<u32, ConfigError> {
    let name = "MOVE_TIME_LIMIT_SECONDS";
    let limit = parse(get, name, 60)?;
    if !MOVE_TIME_LIMIT_RANGE.contains(&limit) {
        return Err(ConfigError {
            name,
            value: limit.to_string(),
            reason: format!(
                "must be between {} and {}",
                MOVE_TIME_LIMIT_RANGE.start(),
                MOVE_TIME_LIMIT_RANGE.end()
            ),
        });
    }
    Ok(limit)
}

/// `INSTANCE_ID`, or the host's name: it names audit files, so only safe characters.
fn instance_id(get: &impl Fn(&str) -> Option<String>) -> Result<String, ConfigError> {
    let id = get("INSTANCE_ID").unwrap_or_else(default_instance_id);
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
    {
        return Err(ConfigError {
            name: "INSTANCE_ID",
            value: id,
            reason: "only letters, digits, '-', '_' and '.' are allowed".into(),
        });
    }
    Ok(id)
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
            .field("move_batches", &self.move_batches)
            .field("hot", &self.hot)
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
            .field("trusted_proxies", &self.trusted_proxies)
            .field("limits", &self.limits)
            .field("bots", &self.bots)
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
    fn group_commit_gathers_for_a_millisecond_unless_configured() {
        let default = config_from(&[("INSTANCE_ID", "test")]).unwrap();
        assert_eq!(default.move_batches.window, Duration::from_millis(1));
        let off = config_from(&[("MOVE_BATCH_WINDOW_US", "0")]).unwrap();
        assert_eq!(off.move_batches.window, Duration::ZERO);
        let windowed = config_from(&[("MOVE_BATCH_WINDOW_US", "2500")]).unwrap();
        assert_eq!(windowed.move_batches.window, Duration::from_micros(2500));
        let err = config_from(&[("MOVE_BATCH_WINDOW_US", "-1")]).expect_err("not a duration");
        assert!(err.to_string().contains("MOVE_BATCH_WINDOW_US"), "{err}");
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
    fn redis_settings_choose_the_mode() {
        let mode = |pairs: &[(&str, &str)]| config_from(pairs).map(|config| config.hot);
        assert_eq!(mode(&[]).unwrap(), HotMode::Embedded);
        assert_eq!(mode(&[("REDIS_URL", " ")]).unwrap(), HotMode::Embedded);
        assert_eq!(
            mode(&[("REDIS_URL", "redis://cache:6379")]).unwrap(),
            HotMode::Redis {
                url: "redis://cache:6379".into()
            }
        );
        assert_eq!(
            mode(&[
                ("REDIS_URL", "redis://a:7000, redis://b:7001,"),
                ("REDIS_CLUSTER", "true")
            ])
            .unwrap(),
            HotMode::Cluster {
                seeds: vec!["redis://a:7000".into(), "redis://b:7001".into()]
            }
        );
        assert_eq!(
            mode(&[("REDIS_URL", "redis://a:7000"), ("REDIS_CLUSTER", "true")]).unwrap(),
            HotMode::Cluster {
                seeds: vec!["redis://a:7000".into()]
            }
        );
    }

    #[test]
    fn bad_redis_settings_stop_the_start_naming_the_variable() {
        for (pairs, variable) in [
            (&[("REDIS_URL", ",")][..], "REDIS_URL"),
            (
                &[("REDIS_URL", " , ,"), ("REDIS_CLUSTER", "true")][..],
                "REDIS_URL",
            ),
            (&[("REDIS_CLUSTER", "true")][..], "REDIS_CLUSTER"),
            (&[("REDIS_CLUSTER", "yes")][..], "REDIS_CLUSTER"),
            (&[("REDIS_URL", "cache:6379")][..], "REDIS_URL"),
            (&[("REDIS_URL", "redis://a:1,redis://b:2")][..], "REDIS_URL"),
        ] {
            let err = config_from(pairs).expect_err(&format!("{pairs:?} is refused"));
            assert!(err.to_string().contains(variable), "{pairs:?}: {err}");
        }
        let err = config_from(&[("REDIS_URL", "redis://:hunter2@cache:6379,")])
            .map(|config| config.hot)
            .expect("one URL and an empty entry");
        assert!(!format!("{err:?}").contains("hunter2"));
        let err = config_from(&[("REDIS_URL", "nope://:hunter2@cache")]).expect_err("bad scheme");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn trusted_proxies_are_addresses_or_cidr_blocks() {
        let config =
            config_from(&[("TRUSTED_PROXIES", "10.0.0.0/8, ::1,172.18.0.5")]).expect("valid list");
        let trusted = |ip: &str| {
            config
                .trusted_proxies
                .iter()
                .any(|range| range.contains(ip.parse().unwrap()))
        };
        assert!(trusted("10.1.2.3"));
        assert!(trusted("::1"));
        assert!(trusted("172.18.0.5"));
        assert!(trusted("::ffff:10.9.9.9"));
        assert!(!trusted("172.18.0.6"));
        assert!(!trusted("11.0.0.1"));
        assert!(config_from(&[]).unwrap().trusted_proxies.is_empty());
    }

    #[test]
    fn a_malformed_proxy_list_names_the_variable() {
        for bad in ["10.0.0.0/33", "nginx", "10.0.0.1/x"] {
            let err = config_from(&[("TRUSTED_PROXIES", bad)]).expect_err(bad);
            assert!(err.to_string().contains("TRUSTED_PROXIES"), "{err}");
        }
    }

    #[test]
    fn limits_must_be_positive() {
        for name in [
            "HTTP_HEADER_TIMEOUT_SECONDS",
            "HTTP_IDLE_TIMEOUT_SECONDS",
            "WS_IDENTIFY_TIMEOUT_SECONDS",
            "PASSWORD_HASH_CONCURRENCY",
            "LOGIN_ATTEMPTS_PER_ACCOUNT",
            "LOGIN_LOCKOUT_SECONDS",
            "AUTH_ATTEMPTS_PER_ADDRESS",
            "AUTH_ADDRESS_WINDOW_SECONDS",
        ] {
            let err = config_from(&[(name, "0")]).expect_err(name);
            assert!(err.to_string().contains(name), "{err}");
            assert!(err.to_string().contains("at least 1"), "{err}");
        }
        assert!(config_from(&[("MAX_CONNECTIONS_PER_ADDRESS", "0")]).is_ok());
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
    fn bot_move_delay_is_bounded() {
        assert!(config_from(&[("BOT_MOVE_DELAY_MS", "5000")]).is_err());
        assert!(config_from(&[("BOT_MOVE_DELAY_MS", "0")]).is_ok());
    }

    #[test]
    fn move_time_limit_is_bounded() {
        assert!(config_from(&[("MOVE_TIME_LIMIT_SECONDS", "1")]).is_err());
        assert!(config_from(&[("MOVE_TIME_LIMIT_SECONDS", "30")]).is_ok());
    }
}
