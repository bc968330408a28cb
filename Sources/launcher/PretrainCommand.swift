import ArgumentParser

// Placeholder until the pretrain subcommand lands; replaced by its owner.
struct Pretrain: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pretrain", abstract: "(not yet implemented)")
    func run() throws { throw ValidationError("pretrain is not implemented yet") }
}
