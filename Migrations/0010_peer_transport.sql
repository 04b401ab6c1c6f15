-- btq schema 10: how each peer was last connected, for `btq peers`.
--
-- `transport` is `tcp` (a plaintext BitTorrent handshake), `tcp+rc4` (MSE/PE with an RC4 payload) or
-- `tcp+plain-mse` (MSE/PE with a plaintext payload), as of the peer's last connection; NULL for a peer
-- never connected (only listed by a source) or last seen by an older btq.
ALTER TABLE peers ADD COLUMN transport TEXT CHECK (transport IS NULL OR transport <> '');
