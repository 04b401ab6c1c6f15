-- btq schema 5: what the DHT node of each address family (BEP 5 over IPv4, BEP 32 over IPv6) saved:
-- its node id and status, and the nodes of its routing table, restored at the next start so that the
-- id does not change and peers are found without any bootstrap node.
--
-- A save replaces the family's row and all of its nodes in one transaction.

CREATE TABLE dht_state (
    family          TEXT PRIMARY KEY CHECK (family IN ('ipv4', 'ipv6')),
    node_id         BLOB NOT NULL CHECK (length(node_id) = 20),
    status          TEXT NOT NULL,                                     -- Engine's DHTStatus as JSON (`btq dht`)
    saved_at        INTEGER NOT NULL
) WITHOUT ROWID;

-- One row per address: the newest of the nodes a save names at one address and port.
CREATE TABLE dht_nodes (
    family          TEXT NOT NULL REFERENCES dht_state (family) ON DELETE CASCADE
                    CHECK (family IN ('ipv4', 'ipv6')),
    address         TEXT NOT NULL,                                     -- IPv4 dotted quad or IPv6 without brackets
    port            INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
    node_id         BLOB NOT NULL CHECK (length(node_id) = 20),
    last_seen_at    INTEGER NOT NULL,
    PRIMARY KEY (family, address, port)
) WITHOUT ROWID;

-- A load reads the newest nodes first, and only so many of them.
CREATE INDEX dht_nodes_by_last_seen ON dht_nodes (family, last_seen_at);
