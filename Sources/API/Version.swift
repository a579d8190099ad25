/// Parley's release version, reported by `/api/public/health` and `parley --version`.
public enum ParleyVersion {
    public static let current = "0.1.0"
}
