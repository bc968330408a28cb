import ArgumentParser

// Placeholder until the prepare subcommand lands; replaced by its owner.
struct Prepare: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prepare", abstract: "(not yet implemented)")
    func run() throws { throw ValidationError("prepare is not implemented yet") }
}
