//! Which end of a connection this is.

/// Which end of the connection this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Sends the upgrade request; masks every frame it sends (RFC 6455 §5.3).
    Client,
    /// Answers the upgrade request; requires masked frames from the client.
    Server,
}

impl Role {
    /// The other end.
    pub const fn peer(self) -> Role {
        match self {
            Role::Client => Role::Server,
            Role::Server => Role::Client,
        }
    }
}
