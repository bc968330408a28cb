import ArgumentParser

// Placeholder until the bench subcommand lands; replaced by its owner.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "(not yet implemented)")
    func run() throws { throw ValidationError("bench is not implemented yet") }
}
