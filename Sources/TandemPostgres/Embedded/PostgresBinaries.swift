import Foundation

/// Where the PostgreSQL server programs are: `TANDEM_PG_BIN`, else the newest
/// `/usr/lib/postgresql/<major>/bin` (Debian's layout), else the directory of `pg_ctl` on PATH.
public struct PostgresBinaries: Sendable, Hashable {
    public let directory: String

    public var initdb: String { directory + "/initdb" }
    public var pgCtl: String { directory + "/pg_ctl" }
    public var psql: String { directory + "/psql" }
    public var pgbench: String { directory + "/pgbench" }

    public static func locate(override: String? = nil) throws(PostgresError) -> PostgresBinaries {
        let fm = FileManager.default
        func usable(_ dir: String) -> Bool {
            fm.isExecutableFile(atPath: dir + "/initdb") && fm.isExecutableFile(atPath: dir + "/pg_ctl")
        }
        if let explicit = override ?? ProcessInfo.processInfo.environment["TANDEM_PG_BIN"], !explicit.isEmpty {
            guard usable(explicit) else {
                throw PostgresError(
                    .binaryNotFound,
                    "\(explicit) does not contain initdb and pg_ctl; point TANDEM_PG_BIN at PostgreSQL's bin directory",
                    operation: "locate binaries")
            }
            return PostgresBinaries(directory: explicit)
        }
        let debianRoot = "/usr/lib/postgresql"
        let majors = ((try? fm.contentsOfDirectory(atPath: debianRoot)) ?? [])
            .compactMap(Int.init)
            .sorted(by: >)
        for major in majors where usable("\(debianRoot)/\(major)/bin") {
            return PostgresBinaries(directory: "\(debianRoot)/\(major)/bin")
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        for dir in path.split(separator: ":").map(String.init) where usable(dir) {
            return PostgresBinaries(directory: dir)
        }
        throw PostgresError(
            .binaryNotFound,
            "the PostgreSQL server programs (initdb, pg_ctl) were not found in /usr/lib/postgresql/*/bin or on PATH; "
                + "install them with `apt-get install -y postgresql` (Debian/Ubuntu) or set TANDEM_PG_BIN",
            operation: "locate binaries")
    }

    /// The major version of these binaries, from `pg_ctl --version` ("pg_ctl (PostgreSQL) 15.18").
    func majorVersion(runner: ProcessRunner) -> String? {
        guard let output = try? runner.run(pgCtl, ["--version"], operation: "version"), output.status == 0 else { return nil }
        let words = output.text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard let version = words.last(where: { $0.first?.isNumber == true }) else { return nil }
        return version.split(separator: ".").first.map(String.init)
    }
}
