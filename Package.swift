// swift-tools-version:5.9
import PackageDescription

// Hot kernels need AVX2/FMA (haswell = x86-64-v3 level) and no bounds checks; Swift's default x86 target is SSE2.
let fastSwift: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release)),
    // -fno-math-errno lets sqrt vectorize (no errno side effect); results are bit-identical.
    .unsafeFlags(["-target-cpu", "haswell", "-Xcc", "-fno-math-errno"]),
]

let package = Package(
    name: "ecg-dist",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "ecg-dist", targets: ["launcher"]),
        .library(name: "Model", targets: ["Model"]),
        .library(name: "DistTrainer", targets: ["DistTrainer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // MPI + parallel HDF5: the C macros Swift cannot import are wrapped as static inline functions.
        .systemLibrary(name: "MPIShim", path: "Sources/MPIShim/mpi", pkgConfig: "hdf5-openmpi"),
        // CBLAS on its own module so that Model links BLAS without ever seeing MPI.
        .systemLibrary(name: "CBLASShim", path: "Sources/MPIShim/cblas", pkgConfig: "openblas"),
        .target(name: "Model", dependencies: ["CBLASShim"], swiftSettings: fastSwift),
        .target(name: "DistTrainer", dependencies: ["Model", "MPIShim", "CBLASShim"], swiftSettings: fastSwift),
        .executableTarget(
            name: "launcher",
            dependencies: ["DistTrainer", "Model", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: fastSwift),
        .testTarget(name: "ModelTests", dependencies: ["Model"], swiftSettings: fastSwift),
        .testTarget(name: "DistTrainerTests", dependencies: ["DistTrainer", "Model", "MPIShim"], swiftSettings: fastSwift),
    ]
)
