import Foundation

#if FUZZING
import CLibFuzzer
#endif

/// `parley-fuzz`: the fuzz targets of FuzzTarget.swift behind two entry points.
///
/// A normal build replays saved inputs, which is how a crash found by the fuzzer is reproduced
/// (with a Swift backtrace) and how the corpus is checked, or runs N inputs made from the
/// numbers 0…N−1 (useful for targets that generate their request from the input, such as
/// `extreme-values`; scripts/reliability/check_extreme.py runs it in the fast suite):
///
///     parley-fuzz <target> <file or directory>...
///     parley-fuzz <target> --random N
///
/// Each input must finish within `inputSeconds`, else SIGALRM ends the process: a hang fails
/// as a crash does.
///
/// Built with `-DFUZZING -sanitize=fuzzer` (scripts/reliability/fuzz.sh) the same binary is the
/// libFuzzer driver; the target comes from the first argument or `PARLEY_FUZZ_TARGET`, and the
/// other arguments are libFuzzer's:
///
///     parley-fuzz http corpus/http -max_total_time=60
@main
enum FuzzDriver {
    static func main() {
        #if FUZZING
        runLibFuzzer()
        #else
        replay()
        #endif
    }

    /// Seconds one replayed input may take (the slowest seed takes milliseconds in a debug build).
    static let inputSeconds: UInt32 = 30

    static func usage() -> Never {
        let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        FileHandle.standardError.write(Data("""
            usage: parley-fuzz <target> <file or directory>...
                   parley-fuzz <target> --random N
            targets: \(names)

            """.utf8))
        exit(2)
    }

    /// Runs every file named (directories: every file in them) through the target and says
    /// which ones passed; a failing input stops the process, as in the fuzzer.
    static func replay() {
        let arguments = CommandLine.arguments.dropFirst()
        guard let name = arguments.first else { usage() }
        guard let target = FuzzTarget(rawValue: name) else {
            FileHandle.standardError.write(Data("parley-fuzz: unknown target '\(name)'\n".utf8))
            usage()
        }
        if arguments.dropFirst().first == "--random" {
            guard arguments.count == 3, let count = Int(arguments.last ?? ""), count > 0 else { usage() }
            for index in 0..<count {
                let input = withUnsafeBytes(of: UInt64(index).littleEndian) { Array($0) }
                alarm(inputSeconds)
                target.run(input)
                alarm(0)
            }
            print("ok \(target.rawValue) \(count) generated inputs")
            return
        }
        var files: [String] = []
        for path in arguments.dropFirst() {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                FileHandle.standardError.write(Data("parley-fuzz: no such file: \(path)\n".utf8))
                exit(1)
            }
            if isDirectory.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
                files += names.sorted().map { path + "/" + $0 }
            } else {
                files.append(path)
            }
        }
        guard !files.isEmpty else { usage() }
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else {
                FileHandle.standardError.write(Data("parley-fuzz: cannot read \(file)\n".utf8))
                exit(1)
            }
            alarm(inputSeconds)
            target.run(Array(data))
            alarm(0)
            print("ok \(target.rawValue) \(file) (\(data.count) bytes)")
        }
    }

    #if FUZZING
    /// The target every libFuzzer callback runs, read once from the environment.
    static let target: FuzzTarget = {
        let name = ProcessInfo.processInfo.environment["PARLEY_FUZZ_TARGET"] ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            FileHandle.standardError.write(Data("parley-fuzz: set PARLEY_FUZZ_TARGET or name a target first\n".utf8))
            usage()
        }
        return target
    }()

    static func runLibFuzzer() {
        var arguments = CommandLine.arguments
        var environment = ProcessInfo.processInfo.environment
        var restart = false
        if arguments.count > 1, FuzzTarget(rawValue: arguments[1]) != nil {
            // Passed on in the environment, so that the processes libFuzzer forks (-fork, -jobs,
            // -minimize_crash) run the same target.
            environment["PARLEY_FUZZ_TARGET"] = arguments.remove(at: 1)
            restart = true
        }
        if environment["SWIFT_BACKTRACE"] == nil {
            // The Swift runtime's backtracer would catch the trap first, and libFuzzer keeps a
            // signal handler that is already installed: no crash would be reported or saved.
            environment["SWIFT_BACKTRACE"] = "enable=no"
            restart = true
        }
        if restart { reexec(arguments, environment) }

        _ = target
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        let status = LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            FuzzDriver.target.run(Array(UnsafeBufferPointer(start: data, count: size)))
            return 0
        }
        exit(status)
    }

    /// Replaces the process with this binary under `arguments` and `environment`.
    static func reexec(_ arguments: [String], _ environment: [String: String]) -> Never {
        for (key, value) in environment { setenv(key, value, 1) }
        // strdup'd strings live until execv replaces the process (or it fails and we exit).
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        argv.append(nil)
        execv("/proc/self/exe", &argv)
        FileHandle.standardError.write(Data("parley-fuzz: cannot re-execute itself (errno \(errno))\n".utf8))
        exit(2)
    }
    #endif
}
