// Package keystoretest holds test doubles of accounts.SecretStore: Memory,
// a store in memory that checks refs as keystore's stores do, and Faulty,
// which wraps a store and fails chosen calls. Being internal, they are
// for this module's tests only and never reach the program.
package keystoretest
