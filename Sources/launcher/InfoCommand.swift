import ArgumentParser

// Placeholder until the info subcommand lands; replaced by its owner.
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "(not yet implemented)")
    func run() throws { throw ValidationError("info is not implemented yet") }
}
