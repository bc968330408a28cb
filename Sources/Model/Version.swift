public enum ModelInfo { public static let version = "0.1.0" }
