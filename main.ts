import { App } from "cdktf";
import { readNodeGenerations } from "./config/node-generations-file";
import { validateSiteConfig } from "./config/schema";
import { site } from "./config/site";
import { resolveEnvironment } from "./lib/environment";
import { addEnvironmentStacks } from "./stacks/environment-stacks";

const app = new App();
const environment = resolveEnvironment();
addEnvironmentStacks(app, environment, validateSiteConfig({ ...site, nodeGenerations: readNodeGenerations() }));
app.synth();
