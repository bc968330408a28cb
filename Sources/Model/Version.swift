/// The ecg-dist release version (what `ecg-dist --version` reports): major.minor.patch.
public enum ModelInfo { public static let version = "0.1.0" }
