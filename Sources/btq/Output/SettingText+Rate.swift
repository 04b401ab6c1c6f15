import Engine

extension SettingText {
    /// A rate for people: `2 MiB/s`, or `unlimited` for 0.
    static func rateDescription(_ bytesPerSecond: Int64) -> String {
        bytesPerSecond == 0 ? "unlimited" : Formatting.size(bytesPerSecond) + "/s"
    }
}
