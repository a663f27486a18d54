//! permessage-deflate (RFC 7692).
