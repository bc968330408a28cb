import ArgumentParser

// Placeholder until the plot subcommand lands; replaced by its owner.
struct Plot: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "plot", abstract: "(not yet implemented)")
    func run() throws { throw ValidationError("plot is not implemented yet") }
}
