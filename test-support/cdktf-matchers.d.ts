// Types for the cdktf jest matchers that jest.setup.js registers.
import "cdktf/lib/testing/adapters/jest";
