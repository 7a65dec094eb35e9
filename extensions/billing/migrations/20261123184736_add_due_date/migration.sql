-- orchestrate:requires core 20261123184710_init
-- AlterTable
ALTER TABLE "billing_invoices" ADD COLUMN     "dueAt" TIMESTAMP(3);
