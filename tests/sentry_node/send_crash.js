// Sends one captured exception with the real @sentry/node SDK to the DSN given as argv[2].
// The opt-in travels as the tag our integration docs ask for.
const Sentry = require("@sentry/node");

async function main() {
  const dsn = process.argv[2];
  const optIn = process.argv[3] !== "no-opt-in";
  Sentry.init({
    dsn,
    release: "node-test@1.0.0",
    defaultIntegrations: false,
    tracesSampleRate: 0,
    sendClientReports: false,
  });
  if (optIn) Sentry.setTag("crash_reports.opt_in", "true");
  function loadProfile() {
    throw new TypeError("Cannot read properties of undefined (reading 'avatar')");
  }
  let eventId;
  try {
    loadProfile();
  } catch (err) {
    eventId = Sentry.captureException(err);
  }
  const flushed = await Sentry.flush(10000);
  console.log(JSON.stringify({ eventId, flushed }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
