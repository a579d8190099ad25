/// Parley's release version, reported by `/api/public/health` and `parley --version`.
package enum ParleyVersion {
    package static let current = "0.1.0"
}
