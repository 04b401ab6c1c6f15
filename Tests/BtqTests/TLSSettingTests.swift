import Engine
import Foundation
import Store
import Testing

/// `tls_ca_file`: the extra CA of `https://` trackers, checked when it is set.
@Suite struct TLSSettingTests {
    /// The CA certificate the Engine tests ship (PEM).
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../EngineTests/Fixtures/tls/ca.pem").standardizedFileURL.path

    @Test func aReadablePEMFileIsStoredAsAnAbsolutePathAndReachesTheSettings() throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        #expect(try btq.run(["config", "get", "tls_ca_file"]).stdout == "\n")
        let copy = try btq.write("certs/ca.pem", Array(try Data(contentsOf: URL(fileURLWithPath: Self.fixture))))
        let set = try btq.run(["config", "set", "tls_ca_file", "certs/ca.pem"], in: btq.folder)
        #expect(set.status == 0, "\(set.stderr)")
        #expect(set.stdout == "tls_ca_file = \(copy)\n")
        let settings = TransferSettings(values: try BtqStore(path: btq.database).settings.all())
        #expect(settings.tls == TLSClientSettings(extraCAFile: copy))
        #expect(try btq.run(["config", "set", "tls_ca_file", ""]).status == 0)
        #expect(TransferSettings(values: try BtqStore(path: btq.database).settings.all()).tls.extraCAFile == nil)
    }

    @Test(arguments: [
        ("absent.pem", nil, "no such file"), ("bad.pem", "not a certificate\n", "holds no PEM certificate"),
    ])
    func anUnusableFileIsRefusedAndChangesNothing(_ name: String, _ text: String?, _ reason: String) throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        let path = btq.folder.appendingPathComponent(name).path
        if let text { _ = try btq.write(name, Array(text.utf8)) }
        #expect(try btq.run(["config", "get"]).status == 0)
        let before = try BtqStore(path: btq.database).settings.all()
        let result = try btq.run(["config", "set", "tls_ca_file", path])
        #expect(result.status == 64)
        #expect(result.stderr.contains("tls_ca_file: "), "\(result.stderr)")
        #expect(result.stderr.contains(path) && result.stderr.contains(reason), "\(result.stderr)")
        #expect(try BtqStore(path: btq.database).settings.all() == before)
    }
}
