// Package twain drives TWAIN data sources.
package twain
