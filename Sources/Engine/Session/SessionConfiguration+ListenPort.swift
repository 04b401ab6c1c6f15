extension SessionConfiguration {
    /// The port we tell peers in our extension handshake (`p`, BEP 10): none when we accept no
    /// connections (``listenPort`` 0: nothing could be bound), so nobody dials a port nobody listens on.
    package var advertisedPort: UInt16? { listenPort > 0 ? listenPort : nil }
}
