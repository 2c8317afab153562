export { ConfigError } from "./config-error.js";
export {
  type DatabaseLocation,
  databaseLocation,
  defaultDatabaseFile,
  parseDatabaseUrl,
} from "./database-url.js";
export { type LoadConfigOptions, loadConfig } from "./load.js";
export {
  amountMaxLimit,
  type Config,
  type ConfigInput,
  configKeys,
  configLeaves,
  configSchema,
  envVarFor,
  envVars,
  type LogLevel,
  logLevels,
} from "./schema.js";
