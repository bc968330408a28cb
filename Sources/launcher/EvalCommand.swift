import ArgumentParser

// Placeholder until the eval subcommand lands; replaced by its owner.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "eval", abstract: "(not yet implemented)")
    func run() throws { throw ValidationError("eval is not implemented yet") }
}
