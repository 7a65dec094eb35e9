-- AlterTable
ALTER TABLE "billing_invoices" DROP COLUMN "dueAt";
