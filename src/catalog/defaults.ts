import { SUBSCRIPTION_DEFAULTS as SUBSCRIPTION, TOPIC_DEFAULTS as TOPIC } from "../shared/defaults";
import type { SubscriptionSettings, TopicSettings } from "./records";

// The shared defaults (src/shared/defaults.ts) as the catalog's settings types: a default the
// types do not allow fails to compile here.
export const TOPIC_DEFAULTS: TopicSettings = TOPIC;
export const SUBSCRIPTION_DEFAULTS: SubscriptionSettings = SUBSCRIPTION;
