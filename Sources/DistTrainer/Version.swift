import Model
import MPIShim
public enum DistInfo { public static let version = ModelInfo.version }
