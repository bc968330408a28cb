import XCTest
@testable import Model

final class SchedulesTests: XCTestCase {
    let schedule = TrainingSchedule()

    func testLearningRateEndpointsAndMidpoints() {
        XCTAssertEqual(schedule.learningRate(step: 0), 1e-6, accuracy: 1e-12)
        XCTAssertEqual(schedule.learningRate(step: 5_000), Float(1e-6 + (1e-3 - 1e-6) / 2), accuracy: 1e-9)
        XCTAssertEqual(schedule.learningRate(step: 10_000), 1e-3, accuracy: 1e-9)
        // Half-way through the cosine the rate is the mean of peak and final.
        XCTAssertEqual(schedule.learningRate(step: 55_000), Float((1e-3 + 1e-6) / 2), accuracy: 1e-9)
        // A quarter of the way: final + (peak - final) * (1 + cos(pi / 4)) / 2.
        let quarter: Double = 1e-6 + (1e-3 - 1e-6) * (1 + 0.5.squareRoot()) / 2
        XCTAssertEqual(schedule.learningRate(step: 32_500), Float(quarter), accuracy: 1e-9)
        XCTAssertEqual(schedule.learningRate(step: 100_000), 1e-6, accuracy: 1e-12)
        XCTAssertEqual(schedule.learningRate(step: 150_000), 1e-6, accuracy: 1e-12)
        XCTAssertEqual(schedule.learningRate(step: -5), 1e-6, accuracy: 1e-12)
    }

    func testLearningRateRisesThenFalls() {
        var previous = schedule.learningRate(step: 0)
        for step in stride(from: 100, through: 10_000, by: 100) {
            let lr = schedule.learningRate(step: step)
            XCTAssertGreaterThan(lr, previous, "warmup not increasing at \(step)")
            previous = lr
        }
        for step in stride(from: 10_100, through: 100_000, by: 100) {
            let lr = schedule.learningRate(step: step)
            XCTAssertLessThanOrEqual(lr, previous, "cosine not decreasing at \(step)")
            previous = lr
        }
    }

    func testWeightDecayCosineIncrease() {
        XCTAssertEqual(schedule.weightDecay(step: 0), 0.01, accuracy: 1e-9)
        XCTAssertEqual(schedule.weightDecay(step: 50_000), 0.055, accuracy: 1e-7)
        XCTAssertEqual(schedule.weightDecay(step: 100_000), 0.1, accuracy: 1e-9)
        XCTAssertEqual(schedule.weightDecay(step: 200_000), 0.1, accuracy: 1e-9)
        // Cosine, not linear: a quarter of the way it has moved (1 - cos(pi/4)) / 2 ~ 14.6 %.
        let quarter: Double = 0.01 + 0.09 * (1 - 0.5.squareRoot()) / 2
        XCTAssertEqual(schedule.weightDecay(step: 25_000), Float(quarter), accuracy: 1e-7)
        var previous = schedule.weightDecay(step: 0)
        for step in stride(from: 1_000, through: 100_000, by: 1_000) {
            let wd = schedule.weightDecay(step: step)
            XCTAssertGreaterThan(wd, previous)
            previous = wd
        }
    }

    func testEMAMomentumLinear() {
        XCTAssertEqual(schedule.emaMomentum(step: 0), 0.998, accuracy: 1e-7)
        XCTAssertEqual(schedule.emaMomentum(step: 50_000), 0.99875, accuracy: 1e-7)
        XCTAssertEqual(schedule.emaMomentum(step: 25_000), 0.998375, accuracy: 1e-7)
        XCTAssertEqual(schedule.emaMomentum(step: 100_000), 0.9995, accuracy: 1e-7)
        XCTAssertEqual(schedule.emaMomentum(step: 1_000_000), 0.9995, accuracy: 1e-7)
        var previous = schedule.emaMomentum(step: 0)
        for step in stride(from: 5_000, through: 100_000, by: 5_000) {
            XCTAssertGreaterThan(schedule.emaMomentum(step: step), previous)
            previous = schedule.emaMomentum(step: step)
        }
    }

    func testCustomScheduleAndNoWarmup() {
        let s = TrainingSchedule(warmupSteps: 0, totalSteps: 100, lrStart: 0, lrPeak: 0.1, lrFinal: 0.01,
                                 weightDecayStart: 0.05, weightDecayEnd: 0.05, emaStart: 0.9, emaEnd: 1)
        XCTAssertEqual(s.learningRate(step: 0), 0.1, accuracy: 1e-8)
        XCTAssertEqual(s.learningRate(step: 50), 0.055, accuracy: 1e-7)
        XCTAssertEqual(s.learningRate(step: 100), 0.01, accuracy: 1e-8)
        XCTAssertEqual(s.weightDecay(step: 37), 0.05, accuracy: 1e-8)
        XCTAssertEqual(s.emaMomentum(step: 10), 0.91, accuracy: 1e-7)
        // Degenerate: no decay phase at all.
        let flat = TrainingSchedule(warmupSteps: 10, totalSteps: 10)
        XCTAssertEqual(flat.learningRate(step: 5), Float(1e-6 + (1e-3 - 1e-6) / 2), accuracy: 1e-9)
        XCTAssertEqual(flat.learningRate(step: 10), 1e-6, accuracy: 1e-12)
    }

    func testSchedulesArePureFunctionsAndCodable() throws {
        let data = try JSONEncoder().encode(schedule)
        let decoded = try JSONDecoder().decode(TrainingSchedule.self, from: data)
        XCTAssertEqual(decoded, schedule)
        for step in [0, 1, 9_999, 10_000, 77_777, 100_000] {
            XCTAssertEqual(decoded.learningRate(step: step).bitPattern, schedule.learningRate(step: step).bitPattern)
            XCTAssertEqual(decoded.weightDecay(step: step).bitPattern, schedule.weightDecay(step: step).bitPattern)
            XCTAssertEqual(decoded.emaMomentum(step: step).bitPattern, schedule.emaMomentum(step: step).bitPattern)
        }
    }
}
